"""The chat channel the widget talks to: Rasa's REST channel, hardened.

Registered in `credentials.yml` as `fagchat.channel.FagchatInput`; it serves
`POST /webhooks/fagchat/webhook` (messages) and `POST /webhooks/fagchat/feedback` (👍/👎),
and Rasa's liveness and readiness at `GET /webhooks/fagchat/healthz` and `/readyz`.
By concern:

- `requests.py`: reading and validating a request, and the `/` command guard — bad input
  gets a 4xx and a Danish message, never a 5xx; typed `/intent{...}` text is a command
  only when it is a button the bot offered in its last two turns (a
  late answer's buttons arrive with the reply to the next message);
- `turns.py`: one message's processing, the holding answer when the bot is slow and the
  late answer that follows with the next message, and the contact details whenever the
  bot produced nothing or the message could not be stored;
- `feedback.py`: 👍/👎 appended to the conversation under its lock, only for a
  conversation that exists and an article the bot showed in it;
- `input.py`: the routes, the security headers and the Rasa server's hardening (its
  body limit, error pages and redacted logs).
See docs/operations.md for the faults and how each is tested.
"""

from fagchat.channel.input import FagchatInput

__all__ = ["FagchatInput"]
