"""citydash: a city-agnostic borough dashboard on DuckDB and Streamlit."""
