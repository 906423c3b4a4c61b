"""Deep clustering explorer: the router. Pages live in pages/, the modeling code in core/."""
import core  # noqa: F401  (sets TensorFlow's log level before anything imports it)
import streamlit as st

from ui.cache import training_worker
from ui.sidebar import show_sidebar
from ui.state import init_state

st.set_page_config(page_title="Deep clustering explorer", page_icon=":material/scatter_plot:", layout="wide")
init_state()
training_worker()

page = st.navigation([
    st.Page("pages/train.py", title="Train", icon=":material/model_training:", default=True),
    st.Page("pages/explore.py", title="Explore", icon=":material/scatter_plot:"),
    st.Page("pages/metrics.py", title="Metrics", icon=":material/analytics:"),
    st.Page("pages/model.py", title="Model", icon=":material/hub:"),
    st.Page("pages/clusters.py", title="How many clusters?", icon=":material/query_stats:"),
])
show_sidebar()
page.run()
