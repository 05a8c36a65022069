"""k-fold NLU cross-validation of the pipeline in config.yml, on seeded folds.

    python -m fagchat.nlu.crossval --nlu data/nlu.yml --config config.yml --folds 5 --out DIR

Writes Rasa's own report files (intent_report.json, intent_errors.json) to DIR, as
`rasa test nlu --cross-validation` does, from the same folds, the same training and the
same predictions. What it leaves out is Rasa's second pass over each *training* fold
(the "train" figures Rasa logs and nobody reads): with 4,500 examples that pass cost
about 50 of the 165 seconds of each fold, four minutes of every `make test`.

It runs as its own process (fagchat.nlu.quality.run_crossval starts it), so TensorFlow,
five trained models and the encoder are gone when it ends.
"""

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

logger = logging.getLogger(__name__)

SEED = 0


async def cross_validate(nlu: Path, config: Path, folds: int, out: Path) -> int:
    """Train on k-1 folds, predict the k-th, k times; write the intent reports to `out`.

    Returns the number of test predictions made (every example exactly once).
    """
    import rasa.model_training
    from rasa.core.agent import Agent
    from rasa.nlu.test import drop_intents_below_freq, evaluate_intents, generate_folds, get_eval_data
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter

    data = TrainingDataImporter.load_from_dict(training_data_paths=[str(nlu)]).get_nlu_data()
    data = drop_intents_below_freq(data, cutoff=folds)
    # Rasa draws the folds with NumPy's global random state (StratifiedKFold without a
    # seed): seeded here, the folds are those `rasa test nlu --cross-validation` draws
    # after the same seed, and a run is repeatable.
    np.random.seed(SEED)
    results: List = []
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fagchat-cv-") as tmp:
        for number, (train, test) in enumerate(generate_folds(folds, data), start=1):
            training_file = Path(tmp) / "training_data.yml"
            RasaYAMLWriter().dump(training_file, train)
            model = rasa.model_training.train_nlu(str(config), str(training_file), tmp)
            if model is None:
                raise RuntimeError(f"fold {number}: training produced no model")
            processor = Agent.load(model).processor
            intent_results, _responses, _entities = await get_eval_data(processor, test)
            results.extend(intent_results)
            logger.info(
                "crossval.fold number=%d train=%d test=%d", number, len(train.nlu_examples), len(test.nlu_examples)
            )
    evaluate_intents(results, str(out), successes=False, errors=True, disable_plotting=True, report_as_dict=True)
    return len(results)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command-line entry point: exit 0 when the reports are written."""
    args = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args.add_argument("--nlu", type=Path, required=True)
    args.add_argument("--config", type=Path, required=True)
    args.add_argument("--folds", type=int, default=5)
    args.add_argument("--out", type=Path, required=True)
    opts = args.parse_args(argv)
    if opts.folds < 2:
        args.error("--folds must be 2 or more")
    # Rasa's INFO lines per component and fold would bury the figures; ours say how far it got.
    # Rasa's structlog events (one per parsed example, with its text, at debug level) are
    # printed unless structlog is configured, which the rasa command does and we must too.
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    logger.setLevel(logging.INFO)
    predicted = asyncio.run(cross_validate(opts.nlu, opts.config, opts.folds, opts.out))
    logger.info("crossval.done folds=%d predictions=%d", opts.folds, predicted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
