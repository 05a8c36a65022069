"""The web process: the chat widget, its demo page and a proxy to the Rasa chat channel.

    python -m fagchat.web      # FAGCHAT_HOST:FAGCHAT_WEB_PORT

`app.create_app()` builds the Sanic app; `proxy` forwards the widget's requests to Rasa.
See docs/widget.md for the embed snippet and issue 4 for the requirements.
"""
