"""Same behaviour, less CPU: fixes for hot spots that profiling found in Rasa 3.6.

Installed by the chat channel (`fagchat/channel.py`) when Rasa loads it, so every Rasa
worker has them. Each one keeps Rasa's results exactly; tests/test_faults.py and the
integration tests run through them, and benchmarks/results.md shows the profile behind
each.

- Rasa validates every action server response with `jsonschema.validate()`, which first
  checks the *schema itself* against the JSON Schema meta-schema, on every call. Under
  load that was 38 % of the Rasa process's CPU (py-spy, 50 conversations). The schema is
  a constant: it is checked once here and the validator reused.
"""

import functools
from typing import Any, Dict

from jsonschema import exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

_installed = False


@functools.lru_cache(maxsize=1)
def _action_response_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)  # once, as jsonschema.validate() does on every call
    return cls(schema)


def _validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    """`RemoteAction._validate_action_result` with the validator built once."""
    error = exceptions.best_match(_action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    """Apply the speed-ups to this process (idempotent)."""
    global _installed
    if not _installed:
        RemoteAction._validate_action_result = _validate_action_result
        _installed = True
