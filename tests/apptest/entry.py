"""AppTest entry point: runs dashboard.py as the app.

AppTest decides per run whether an app is a legacy pages/-folder app by looking for a pages/
folder beside the script it was given, and then ignores st.navigation on reruns. The real
server does not (st.navigation switches that mode off for the process). Starting AppTest from
this folder, which has no pages/ beside it, makes reruns behave as they do when served.
"""

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).resolve().parents[2] / "dashboard.py"), run_name="__main__")
