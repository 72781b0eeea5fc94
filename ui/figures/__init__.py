"""Plotly figure builders: plain arrays in, a figure out. No Streamlit, no model."""
