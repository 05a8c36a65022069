"""Custom actions of Fagchat, served by the rasa_sdk action server (`python -m rasa_sdk --actions actions`)."""
