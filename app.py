"""Placeholder until the dashboard lands: says so, and points to the command line."""

import streamlit as st

st.title("Bayesian neural network dashboard")
st.info("The dashboard is on its way. Meanwhile: `python -m bnn_core train --out runs/iris` trains and saves a run.")
