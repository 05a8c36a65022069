"""The one error a broken knowledge file raises, shared by the article and source loaders."""

from pathlib import Path


class KnowledgeError(Exception):
    """An article, the contact file or the source list does not match the schema."""

    def __init__(self, path: Path, field_name: str, problem: str) -> None:
        """Name the file and field so an editor can fix it at once."""
        super().__init__(f"{path.name}: field '{field_name}': {problem}")
        self.path = path
        self.field = field_name
