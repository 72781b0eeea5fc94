"""What a page draws from a run: the Streamlit sections the pages compose."""
