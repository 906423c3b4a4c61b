"""Streamlit-side helpers shared by the pages (session state, caches, the training worker, downloads)."""


def _leave_pages_folder_mode() -> None:
    """Switch a fresh server out of Streamlit's old `pages/` folder mode.

    Streamlit decides per process, at its first page load, whether the app uses the `pages/` folder
    (old multipage mode) or `st.navigation` (app.py), and only app.py switches it. When the first
    request of a fresh server is a page URL (a bookmark, or a tab reloaded after a restart), the page
    script runs alone, without app.py: the sidebar lists file names and the session is not set up.
    Every page imports this package, so the first such run flips the switch and reruns through app.py.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        import streamlit as st

        PagesManager.uses_pages_directory = False
        if st.runtime.exists():
            st.rerun()


_leave_pages_folder_mode()
