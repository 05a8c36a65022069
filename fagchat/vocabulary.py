"""The names that several processes must spell the same way, in one place.

The Rasa server (NLU components, chat channel), the action server and the staff app
agree on slot, intent, action, response and custom-key names only through these
constants. Each name that belongs to the domain is checked against `domain.yml` by
tests/test_vocabulary.py: rename one there and a test fails, instead of the dashboard
silently counting zero.
"""

# -- Intents -------------------------------------------------------------------------
ACUTE_DANGER = "acute_danger"  # someone is in danger now: 112 first (fagchat/nlu/danger.py)
NLU_FALLBACK = "nlu_fallback"  # Rasa's FallbackClassifier: the classifier was unsure
OUT_OF_SCOPE = "out_of_scope"
NONE_OF_THESE = "none_of_these"  # the "Ingen af disse" button of did-you-mean

# -- Slots ---------------------------------------------------------------------------
SLOT_ROLE = "role"  # politi, kommune, sundhed, andet
SLOT_ROLE_ASKED = "role_asked"
SLOT_LAST_ARTICLE = "last_article"  # id of the article the bot answered with last
SLOT_FEEDBACK = "feedback"  # {"value": "up"|"down", "article": id}, set by the chat channel
ROLES = ("politi", "kommune", "sundhed", "andet")

# -- Actions and responses -----------------------------------------------------------
ACTION_ANSWER = "action_answer"
ACTION_SET_ROLE = "action_set_role"
ACTION_DID_YOU_MEAN = "action_did_you_mean"
ACTION_HANDOVER = "action_handover"
ACTION_CHECK_RESULT = "action_stalking_check_result"
ACTION_OFFER_AFTER_DANGER = "action_offer_after_danger"  # articles as buttons after the 112 answer
ACTION_DEFAULT_FALLBACK = "action_default_fallback"  # Rasa's own
ACTION_TWO_STAGE_FALLBACK = "action_two_stage_fallback"  # Rasa's own
# Every action that means "the bot did not understand" (the staff app's fallback count).
FALLBACK_ACTIONS = frozenset({ACTION_DID_YOU_MEAN, ACTION_DEFAULT_FALLBACK, ACTION_TWO_STAGE_FALLBACK})
UTTER_ACUTE_DANGER = "utter_acute_danger"
UTTER_SERVICE_UNAVAILABLE = "utter_service_unavailable"  # contact details; needs no action server
UTTER_AFTER_DANGER = "utter_after_danger"  # the heading of the buttons after the 112 answer
# The responses of "the bot did not understand" (did-you-mean, still unsure, default): the
# chat channel counts answers with them as NLU fallbacks (fagchat/ops/metrics.py;
# tests/test_metrics.py checks they are in the domain).
FALLBACK_RESPONSES = ("utter_did_you_mean", "utter_still_unsure", "utter_default")

# -- Custom payload keys and review decisions ----------------------------------------
CUSTOM_ARTICLE = "article"  # json_message key tying an answer to its article (👍/👎)
CUSTOM_SOURCES = "sources"  # json_message key: [{url, label}] for the widget's "Kilder (n)"
CHECK_ARTICLE = "stalking_check"  # the "article" id of the guided check's result
NEW_TOPIC = "new_topic"  # staff review decision: no intent fits, content is missing

# -- The danger layer's verdict on a message (fagchat/nlu/danger.py), in its parse data ---
DANGER_RULE_KEY = "acute_danger_rule"
RULE_PATTERN = "pattern"  # the patterns fired: 112
RULE_UNSURE_CLASSIFIER = "unsure_classifier"  # the unsure classifier's best guess was danger: 112
RULE_GENERAL_QUESTION = "general_question"  # the classifier said danger; the text is general: no 112
RULE_MEANING_VETO = "meaning_veto"  # the patterns fired; the classifier is sure of a routine question
RULE_MODEL_VETO = "model_veto"  # the patterns fired; the danger model all but rules danger out
RULE_DANGER_MODEL = "danger_model"  # no pattern fired; the danger model is sure of danger: 112
DANGER_SCORE_KEY = "danger_score"  # the danger model's probability (fagchat/nlu/danger_model.py)
DANGER_ALARM_RULES = frozenset({RULE_PATTERN, RULE_UNSURE_CLASSIFIER, RULE_DANGER_MODEL})  # the staff app: "Akut fare"
# A danger signal the layer weighed and found routine (the staff app shows it)
DANGER_WEIGHED_RULES = frozenset({RULE_GENERAL_QUESTION, RULE_MEANING_VETO, RULE_MODEL_VETO})

# Names that must exist in domain.yml, by section (checked by tests/test_vocabulary.py).
IN_DOMAIN = {
    "intents": (ACUTE_DANGER, OUT_OF_SCOPE, NONE_OF_THESE),
    "slots": (SLOT_ROLE, SLOT_ROLE_ASKED, SLOT_LAST_ARTICLE, SLOT_FEEDBACK),
    "actions": (
        ACTION_ANSWER,
        ACTION_SET_ROLE,
        ACTION_DID_YOU_MEAN,
        ACTION_HANDOVER,
        ACTION_CHECK_RESULT,
        ACTION_OFFER_AFTER_DANGER,
    ),
    "responses": (UTTER_ACUTE_DANGER, UTTER_SERVICE_UNAVAILABLE, UTTER_AFTER_DANGER),
}
