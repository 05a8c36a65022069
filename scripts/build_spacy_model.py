"""Build the project's own Danish spaCy pipeline into a folder that SpacyNLP loads by path.

`da_core_news_sm` is only published as a GitHub release asset, which these machines cannot
reach (see the foundation issue). This pipeline is `spacy.blank("da")` -- spaCy's Danish
tokenizer rules -- plus the lookup lemmatizer whose tables ship in `spacy-lookups-data`,
so everything comes from the package registry and nothing is downloaded at run time.

Usage: python scripts/build_spacy_model.py OUTPUT_DIR
"""

import sys
from pathlib import Path

import spacy

VERSION = "1.0.0"


def build(output: Path) -> None:
    """Create, initialise and save the pipeline; rebuild only when the version changed."""
    stamp = output / "fagchat-version.txt"
    if stamp.exists() and stamp.read_text().strip() == VERSION:
        return
    nlp = spacy.blank("da")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    # initialize() copies the lookup table from spacy-lookups-data into the pipeline,
    # so the saved folder needs no extra package to load.
    nlp.initialize()
    nlp.meta["name"] = "fagchat_da"
    nlp.meta["version"] = VERSION
    nlp.meta["description"] = "Blank Danish pipeline with lookup lemmatizer (Fagchat)"
    output.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output)
    stamp.write_text(VERSION + "\n")
    print(f"Built Danish spaCy pipeline in {output}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build(Path(sys.argv[1]))
