"""The sidebar every page shares: what is training and what result the pages show."""
import streamlit as st

from ui.access import gate_role
from ui.cache import training_worker
from ui.gate import SIGN_OUT, VIEWER
from ui.progress import job_title
from core.runs import RUNNING
from ui.worker import is_task
from ui.text import plain
from ui.state import current_job, current_result, result_name
from core.vocabulary import counted, run_name, run_title


def show_sidebar() -> None:
    with st.sidebar:
        st.markdown("### Deep clustering explorer")
        role = gate_role()
        if role is not None:  # signed in at the gate of a shared server
            # a plain link in this tab (a link button opens a new one): the gate ends the session and shows its page
            st.markdown(f"{'Signed in to look and download only' if role == VIEWER else 'Signed in'} · "
                        f'<a href="{SIGN_OUT}" target="_self">Sign out</a>', unsafe_allow_html=True)
        job = current_job()
        if job is not None and job.status == RUNNING:
            st.caption(f"Training {job_title(job.config)}: progress on the Train page.")
        else:
            others = training_worker().active_jobs()
            if others:
                doing = "running" if is_task(others[0].config) else "training"
                st.caption(f"This server is {doing} {job_title(others[0].config)}"
                           + (f" ({len(others) - 1} more queued)" if len(others) > 1 else "")
                           + ": progress on the Train page" + (" and Sweeps." if others[0].sweep_id else "."))
        result = current_result()
        if result is None:
            st.caption("No result yet: train a model on the Train page." if role != VIEWER
                       else "No result yet: open a run on the Runs page.")
        else:
            st.caption("Showing")
            # each thing once: the number and name, then what ran on what only when the name does not say it
            name, setting = result_name(result), f"{result.algorithm_title} on {result.config.dataset}"
            lines = [f"**{'Run ' if result.run_id is not None else ''}{plain(run_title(result.run_id, name))}**"]
            if run_name(name, result.run_id) != setting:
                lines.append(plain(setting))
            lines.append(f"{counted(result.dataset.n_samples, 'image')}, {counted(result.n_clusters, 'cluster')}")
            st.markdown("  \n".join(lines))
            scores = {k: v for k, v in result.metrics.as_dict().items() if v is not None}
            st.markdown("  \n".join(f"{k}: **{v:.3f}**" for k, v in scores.items()))
