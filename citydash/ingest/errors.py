class IngestError(ValueError):
    """A whole input file cannot be read; the message names the file and the problem."""
