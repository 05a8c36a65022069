"""Fagchat: the project code that runs inside Rasa, the web process and the staff app."""
