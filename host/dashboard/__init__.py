"""The operator dashboard and the Empathy Engine API (v1): what the show sees, live, and
the operator's controls. `live.py` watches the show, `api.py` serves it over HTTP and
WebSocket, `static/` is the page."""
