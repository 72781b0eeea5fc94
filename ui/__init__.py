"""Streamlit-side helpers: session state, the settings form, live training and plotly figures."""
