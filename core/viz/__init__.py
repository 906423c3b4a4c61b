"""Pure Plotly / NumPy builders for what the pages show. No streamlit here."""
