"""What our Rasa NLU components share: how Rasa's graph creates one."""

from typing import Any, Dict, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage


class FromConfig(GraphComponent):
    """A component built from its config (defaults filled in), its storage and resource.

    Rasa calls `create` for a new (untrained or stateless) component; those that store
    something also define `load`.
    """

    def __init__(
        self,
        config: Optional[Dict[Text, Any]] = None,
        model_storage: Optional[ModelStorage] = None,
        resource: Optional[Resource] = None,
    ) -> None:
        """Keep the config (a cooperative base class may call this without one)."""
        self.config = {**self.get_default_config(), **(config or {})}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        """A new component (Rasa's graph calls this)."""
        return cls(config, model_storage, resource)
