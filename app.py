"""Deep clustering explorer: the router. Pages live in pages/, the modeling code in core/."""
from ui.serve import wait_for_preload

wait_for_preload()  # under `python -m ui.serve` (scripts/run_app.sh) the modules below were imported at start
import core  # noqa: E402, F401  (sets TensorFlow's log level before anything imports it)
import streamlit as st  # noqa: E402

from ui.access import access_granted, access_page, can_edit
from ui.cache import run_store, training_worker
from ui.prefetch import prefetch_chart_code
from ui.sidebar import show_sidebar
from ui.state import init_state, remember_form, sync_result_with_url

st.set_page_config(page_title="Deep clustering explorer", page_icon=":material/scatter_plot:", layout="wide")
init_state()
RESULT_PAGES = ("explore", "metrics", "model", "clusters", "present")
PRESENT = "present"  # the presenter's page: no sidebar (its own style hides the navigation and the toolbar too)
train = st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train")
runs = st.Page("pages/runs.py", title="Runs", icon=":material/history:")


def home() -> None:
    """The root address opens Train at its own address (/train), keeping the query: every page, Train
    included, answers at its name, and a link to the root still lands on Train (Runs for a viewer)."""
    st.switch_page(train if can_edit() else runs, query_params=st.query_params.to_dict())


PAGES = {
    "Train": [
        st.Page(home, title="Train", url_path="home", default=True, visibility="hidden"),
        train,
        st.Page("pages/sweeps.py", title="Sweeps", icon=":material/grid_view:"),
        st.Page("pages/datasets.py", title="Datasets", icon=":material/upload_file:"),
    ],
    "Result": [
        st.Page("pages/explore.py", title="Explore", icon=":material/scatter_plot:"),
        st.Page("pages/metrics.py", title="Metrics", icon=":material/analytics:"),
        st.Page("pages/model.py", title="Model", icon=":material/hub:"),
        st.Page("pages/clusters.py", title="How many clusters?", icon=":material/query_stats:"),
        # reached by "Present this run" on Explore and Runs (/present?run=7), not from the navigation it hides
        st.Page("pages/present.py", title="Present", icon=":material/slideshow:", url_path=PRESENT,
                visibility="hidden"),
    ],
    "History": [
        runs,
        st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    ],
}
if not access_granted():  # checked before anything else renders: a password page is all there is
    # at every page's address, so a link (/explore?run=3&sel=...) keeps its page and its query through the
    # password and opens once it is given (Streamlit knows a page by its address)
    paths = [p.url_path for group in PAGES.values() for p in group if p.url_path]  # the default's is ""
    st.navigation([st.Page(access_page, title="Password", url_path="password", default=True)]
                  + [st.Page(access_page, title=f"Password ({path})", url_path=path) for path in paths],
                  position="hidden").run()
    st.stop()
if not can_edit():  # the viewer's password: the results and their downloads, no page that trains or adds data
    # (a link to a page a viewer does not have, /train, opens Runs rather than "Page not found")
    PAGES = {"Results": [PAGES["Train"][0], *PAGES["History"], *PAGES["Result"],
                         *(st.Page(home, title=f"Runs ({path})", url_path=path, visibility="hidden")
                           for path in ("train", "sweeps", "datasets"))]}
remember_form()
# Less empty space above page titles (Streamlit's default is about 6rem), so a 1280x720 screen shows the
# first chart of a page without scrolling.
st.html("<style>[data-testid='stMainBlockContainer']{padding-top:2.2rem}</style>")
prefetch_chart_code()
try:
    run_store()  # opening the store marks runs a previous server left running as interrupted
except Exception as error:  # StoreError (unwritable folder, newer schema): every page needs the store
    st.error(f"The run store cannot be opened: {error}", icon=":material/error:")
    st.stop()
training_worker()
page = st.navigation(PAGES)
if page.url_path in RESULT_PAGES:
    sync_result_with_url()  # a run named in the URL (?run=7) is open before the sidebar describes it
if page.url_path != PRESENT:
    show_sidebar()
page.run()
