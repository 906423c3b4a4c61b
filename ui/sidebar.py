"""The sidebar every page shares: what is training and what result the pages show."""
import streamlit as st

from core.algorithms import ALGORITHMS

from ui.worker import RUNNING
from ui.state import current_job, current_result


def show_sidebar() -> None:
    with st.sidebar:
        st.markdown("### Deep clustering explorer")
        job = current_job()
        if job is not None and job.status == RUNNING:
            st.caption(f"Training {ALGORITHMS[job.config.algorithm].title} on {job.config.dataset}: "
                       "progress on the Train page.")
        result = current_result()
        if result is None:
            st.caption("No result yet: train a model on the Train page.")
        else:
            st.caption("Showing")
            st.markdown(f"**{result.algorithm_title}** on **{result.config.dataset}**  \n"
                        f"{result.dataset.n_samples:,} images, k = {result.n_clusters}")
            scores = {k: v for k, v in result.metrics.as_dict().items() if v is not None}
            st.markdown("  \n".join(f"{k}: **{v:.3f}**" for k, v in scores.items()))
