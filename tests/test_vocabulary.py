"""The names shared across processes exist in the domain, and nobody spells them anew."""

import re
from pathlib import Path

import yaml

from fagchat import vocabulary

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())


def domain_names(section: str) -> set:
    entries = DOMAIN.get(section) or []
    if isinstance(entries, dict):
        return set(entries)
    return {e if isinstance(e, str) else next(iter(e)) for e in entries}


def test_every_shared_name_exists_in_the_domain():
    missing = [
        (section, name)
        for section, names in vocabulary.IN_DOMAIN.items()
        for name in names
        if name not in domain_names(section)
    ]
    assert not missing, missing


def test_the_role_values_are_the_slots_values():
    assert tuple(DOMAIN["slots"][vocabulary.SLOT_ROLE]["values"]) == vocabulary.ROLES


def test_the_fallback_actions_are_rasas_or_ours():
    ours = domain_names("actions")
    assert vocabulary.ACTION_DID_YOU_MEAN in ours
    # Rasa's default actions are not listed in the domain but exist in every assistant.
    from rasa.shared.core.constants import DEFAULT_ACTION_NAMES

    assert {vocabulary.ACTION_DEFAULT_FALLBACK, vocabulary.ACTION_TWO_STAGE_FALLBACK} <= set(DEFAULT_ACTION_NAMES)


def test_no_module_spells_a_shared_name_as_a_string():
    # Names that are also ordinary words ("role" is a column, "feedback" a URL path,
    # "acute_danger" a topic id too) are left out: a grep cannot tell those uses apart.
    common = {vocabulary.SLOT_ROLE, vocabulary.SLOT_FEEDBACK, vocabulary.ACUTE_DANGER, vocabulary.OUT_OF_SCOPE}
    names = [n for names in vocabulary.IN_DOMAIN.values() for n in names if n not in common]
    names += [vocabulary.NLU_FALLBACK, vocabulary.NEW_TOPIC, vocabulary.ACTION_DEFAULT_FALLBACK]
    pattern = re.compile("|".join(rf"[\"']{re.escape(n)}[\"']" for n in names))
    offenders = []
    for path in [*ROOT.glob("fagchat/**/*.py"), *ROOT.glob("actions/*.py")]:
        rel = path.relative_to(ROOT).as_posix()
        if rel == "fagchat/vocabulary.py":
            continue
        offenders += [f"{rel}: {m.group(0)}" for m in pattern.finditer(path.read_text())]
    assert not offenders, offenders
