"""Text from data, made safe for the places it is shown."""

import re

MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def escape_markdown(text: object) -> str:
    """Data text for st.markdown/st.caption: shows as typed, never as links, images, HTML or formatting."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", str(text))
