"""Base class for actions that answer from the knowledge base."""

from abc import ABCMeta, abstractmethod
from typing import Text

from rasa_sdk import Action

from actions.rendering import knowledge_base


class KnowledgeAction(Action, metaclass=ABCMeta):
    """An action that loads the knowledge base once, when the action server starts.

    rasa_sdk instantiates every action at start-up, so an invalid article stops the
    server there with a message naming the file and field. Tests set `self.kb` to a
    small knowledge base of their own.
    """

    def __init__(self) -> None:
        """Load (or reuse) the process's knowledge base."""
        self.kb = knowledge_base()

    # Abstract, so that rasa_sdk does not register this base class as an action.
    @abstractmethod
    def name(self) -> Text:
        """Name used in the domain."""
