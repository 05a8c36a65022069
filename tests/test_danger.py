"""The deterministic acute-danger layer, as a pure function and as the NLU override."""

import importlib

import pytest
from rasa.shared.nlu.training_data.message import Message

from tests.helpers import TENSORFLOW_GROUP

pytestmark = pytest.mark.xdist_group(TENSORFLOW_GROUP)


@pytest.fixture(scope="module")
def danger():
    """fagchat.nlu.danger, imported here rather than at the top (tests/helpers.py: TENSORFLOW_GROUP)."""
    return importlib.import_module("fagchat.nlu.danger")


@pytest.mark.parametrize(
    "text",
    [
        "han står uden for døren nu",
        "HAN STAAR UDENFOR DOEREN",
        "min klient siger han truer med at slå hende ihjel",
        "hun har en kniv",
        "hjælp han er her",
        "borgeren siger hun vil tage sit eget liv i aften",
        "han har taget barnet og truer mor",
        "han prøver at bryde ind lige nu",
        # walking up to the door; arrived at a hotel; a deadline within the hour
        "hun ringer og siger at eksen går op mod hoveddøren",
        "stalkeren har lige tjekket ind og venter nede i hotellets lobby",
        "han har skrevet at han står ved hendes arbejde om en halv time med kniven",
        # following with a "now"; a death threat for tonight typed without ø
        "han følger efter mig nu i en sort bil",
        "hans sms siger i aften dor du",
        # strangled, pills swallowed, screams heard now, a call cut off minutes ago
        "hun kan ikke trække vejret, han har kvalt hende",
        "hun skriver at hun har taget alle sine piller",
        "lige nu hører naboerne skrig fra lejligheden",
        "hun ringede for 2 min siden, han stod i opgangen med en kniv, så blev forbindelsen afbrudt",
        # "hvis" meaning whose is no condition
        "en elev, hvis mor har hemmelig adresse: faren har taget drengen fra skolen og skriver hun aldrig ser drengen igen",
        # a denial does not hide what else is said
        "han har aldrig været voldelig før, men nu slår han hende",
        # the time of day written out; a few minutes ago; climbing in; still in the house
        "han skriver at han kommer med kniven kl. 14. klokken er 13.40, skal jeg underrette?",
        "hun kom ind for et kvarter siden med blod på armen, han overfaldt hende. skal det i loggen?",
        "hun siger han er ved at klatre over hegnet og hun er alene hjemme",
        "hun er lige blevet slået, og han stadig er i huset",
        # 'har': the child right after it; a threat to end it tonight
        "hendes eks holder hendes baby og truer med at smide den ud",
        "han har låst hende og ungerne inde og taget telefonerne",
        "han blokerer hele døren og vil ikke lade hende gå",
        # leaving the country with the child today; "generelt" with the danger in the present
        "far har skrevet at han henter hende i frikvarteret og at de skal rejse langt væk i dag",
        "generelt spørgsmål: voldsudøveren er inde i boligen og har låst døren, hvad gør jeg?",
        # the writer sees it happen
        "hvordan forholder man sig når en kollega bliver holdt fast af sin eks? vi kan se det fra vinduet",
        # held or hiding as she writes; "fundet dig"; a knife in his jacket; arson tonight
        "min kæreste holder mig inde og har gemt min telefon, skriver fra en gammel tablet",
        "hun har siddet gemt i vaskekælderen i en halv time, han går rundt i opgangen",
        "eksen har sendt hende 'fundet dig' og et billede af hendes nye opgang",
        "naboen siger at han har en kniv i jakken og er meget vred",
        "hun siger han sætter ild til rækkehuset i nat",
        # a child just taken; a child at the airport with the flight soon; on the phone with her
        "far har lige hentet pigen i sfo'en mod aftalen og siger de aldrig kommer tilbage",
        "drengen er med far i lufthavnen og flyet går om en time, mor har forældremyndigheden",
        "jeg har hende i telefonen og hun græder, han har slået hende",
        # dev9: a retold threat for tonight or sent minutes ago; a photo of her home; her new address found
        "klienten fik for fem minutter siden en besked: jeg henter dig når du har fri. hvad skriver jeg i loggen?",
        "eksen skrev i går at hun vil komme til at fortryde, og nu svarer hun ikke. maa jeg ringe til hendes mor?",
        "han har sendt et billede af hendes nye hoveddør for to minutter siden. er det digital stalking?",
        "hun skriver at han har fundet den nye adresse og er på vej, hvordan søger man tilhold?",
        '"du dør i nat" stod der i sms\'en. kan vi give hende en voldsalarm?',
        "han sagde i nat er det slut, og hun er alene med ham nu",
        # heard through the wall; something smashed with the call cut off; whispering on the phone
        "der lyder råb og slag fra naboens lejlighed, det er hendes eks",
        "jeg hørte ting blive smadret og så blev forbindelsen afbrudt",
        "hun hvisker i telefonen at han er kommet hjem og hun har låst sig inde",
        # any name for him, still in the building; stood in her garden last night, alone now
        "hendes ex er i bygningen og spørger efter hende i receptionen",
        "manden har stået i hendes have med en lommelygte i nat og nu er hun alene hjemme",
        # "i dag" with danger content, even with an earlier event in the story; coming tomorrow with weapons
        "hun har tidligere sagt at han aldrig ser børnene igen, og i dag har hun taget dem ud af børnehaven",
        "han har tidligere været dømt for vold og truede i dag med at slå hende ihjel",
        "en fyret medarbejder skriver at han kommer i morgen, og han har sendt billeder af et gevær",
        # gone off with him; a child driven abroad; "tidligere" before a person is an ex, not a time
        "beboeren er taget af sted med manden der har chikaneret hende, og han skriver at hun kommer ikke tilbage",
        "far har hentet vores 3-årige og siger han kører til polen med ham",
        "hendes tidligere kæreste truer hende og står ved hoveddøren nu",
        # a weak general word at the end of a story of now
        "to mænd står foran hendes opgang og hun tør ikke tage hjem. hvor mange dage kan hun blive her?",
        # dev10: a threat with an ultimatum is no hypothesis; "i øjeblikket"; at the sports hall
        "hendes eks står ude ved idrætshallen og skriver at han slår hende ihjel, hvis hun ikke kommer ud",
        "en kvinde hamrer på hans dør i øjeblikket og siger hun skærer sig selv hvis han ikke lukker op",
        "eleven siger at far har sagt han slår mor og sig selv ihjel, hvis hun flytter. flyttebilen kommer i eftermiddag",
        "faren står i øjeblikket i gården og råber, og han bliver ved med at tage noget op af lommen",
        # a threat with a deadline; "i dag bliver dagen"; "the last time you see them"; gone to her address
        "han skrev at han kommer kl 20 og så er det slut. hvad gør jeg",
        'han skrev i morges "i dag bliver dagen", og han blev set i kantinen for en halv time siden',
        'han henter ungerne i aften og siger "det er sidste gang du ser dem", han har ikke samvær',
        "hans far ringede og sagde at han har taget riflen og er kørt hen til ekskærestens adresse",
        # a habit, but today he is here; a habit, and now she does not answer the phone
        "han har stået ved klinikken flere gange, og i dag sidder han i venteværelset og venter",
        "naboen har chikaneret hende i et år, og nu står han på hendes altan og hun tager ikke telefonen",
        # dev11: a cry for help written, then silence; a threat with violence behind it, this afternoon
        "min kollega sendte SOS for ti minutter siden og svarer ikke",
        "eksen har tidligere slået hende og siger han henter drengen i eftermiddag, hvad gør vi?",
        # dev12: a long story of following, then a fresh message that he waits for her
        "han har chikaneret hende i et halvt år, og hun siger at han lige har sendt en sms om at han venter ved hendes bil",
        # acid is a weapon; a teacher's job is no teaching frame
        "en kunde siger at hendes eks står ude på p-pladsen med en flaske syre, og hun tør ikke gå ud",
        "jeg underviser på et VUC, og en elevs eks står på gangen og siger han slår hende ihjel. hun er låst inde",
        # dev13: a child missing after he was seen; parked across the road, watching her window;
        # a child just taken; followed for minutes up to now
        "hun har haft tilhold mod ham i et år, han stod ved legepladsen før, og nu kan vi ikke finde pigen",
        'eksen holder parkeret lige over for hendes arbejde og har skrevet "jeg kan se din bil"',
        "drengen er lige taget fra fritidshjemmet af faren, han har ikke forældremyndighed",
        "en bil har kørt efter os i 15 minutter nu, hvad gør jeg",
        "vi kan se eksen nede på parkeringspladsen, og hun har fri om ti minutter",
    ],
)
def test_danger_now_is_detected(text, danger):
    assert danger.is_acute_danger(text)


@pytest.mark.parametrize(
    "text",
    [
        "hvornår skal man ringe 112",
        "hvad gør man ved trusler generelt",
        "hun blev truet for to år siden, kan hun få tilhold?",
        "hvordan laver jeg en risikovurdering ved drabstrusler",
        "hvad er stalking",
        "",
        # "er ved at" with no person as its subject; samvær is not a child taken
        "vi er ved at skrive en vejledning om vold og trusler mod ansatte",
        "far har nu samvær med datteren hver anden weekend og mor er bange, skal jeg underrette?",
        # the writer says nothing is happening; the police took him away
        "der sker ikke noget farligt, men han dukker op ved afleveringerne",
        "han hamrede på døren i nat og truede hende, men politiet anholdt ham. hvordan støtter jeg hende i dag?",
        "har lige læst jeres pjece om trusler, findes den på polsk?",
        # following as a habit in a case story; serving a sentence
        "mor siger at far følger efter hende og dukker op ved afleveringerne. hvordan tager retten højde for det?",
        "han afsoner nu, og hun er bange for hvornår han kommer på udgang",
        # "slå op" is to break up
        "de har slået op, og nu skriver de grimme ting til hinanden",
        # evicted and moved out; never violent; a habit without danger content
        "naboen truede hende, men han er nu sat ud og fraflyttet. hvad kan vi gøre som udlejer?",
        "han har stalket sin ex, men har aldrig været voldelig, og nu vil han have hjælp til at stoppe",
        "far står nogle gange ved skolen og kigger. hvad skal jeg gøre efter reglerne?",
        # the client sits with the writer; charged and safe; no threats; a door smashed weeks ago
        "hun bliver fulgt efter hver weekend. hun sidder her sammen med mig og har det ok, hvad gør jeg?",
        "han truede med at sende billeder, men han er sigtet og hun har det bedre nu. skal klassen vide det?",
        "lige nu sidder jeg med en sag med 300 mails, ingen trusler, rækker det til 265?",
        "hun fik smadret sin hoveddør for tre uger siden, kan hun få en anden bolig?",
        # 'har ... datteren' further apart is no child taken; a risk compound; 'hvad nu?'
        "jeg sidder med en mor lige nu, eksen har lagt en app på datterens telefon, hvor anmelder hun?",
        "skriver opgave om selvmordsrisiko hos stalkingofre, hvor finder jeg danske tal?",
        "far har truet personalet på fb, hvad gør vi",
        "far har truet en pædagog, hvad nu",
        # the writer's own routine in the present; not afraid; imagined; the law's word
        "hun er her nu til en samtale og har det godt, hvordan søger hun om tilhold?",
        "sidder med en anmelder på stationen, hun er rolig, hvad skal med i anmeldelsen?",
        "jeg sidder lige nu med en journal om en kvinde der har været overvåget med gps, hvordan skriver jeg det?",
        "hun er ikke bange, men hun er træt af hans beskeder. hvad kan jeg tilbyde?",
        "forestil dig at en elev siger at far har en kniv derhjemme, hvad gør vi?",
        "er det juridisk set vold, når han smadrer hendes telefon?",
        "klienten sidder ved siden af mig og spørger om en voldsalarm",
        "har du tal for selvmordstanker blandt ofre for stalking?",
        # over: years ago written without å, no contact, the ban kept, safe at the shelter
        "hun blev kvalt for 3 ar siden og har ingen kontakt med ham nu, skal jeg notere det?",
        "min søster blev slået i julen, og han har overholdt tilholdet siden. skal hun flytte?",
        "hun kom på krisecentret i nat og er i sikkerhed, hvad spørger jeg om i morgen?",
        # "if ever" with "med det samme": a question about what to do, not a now
        "hvis hendes eks nogensinde truer hende igen, skal hun så ringe med det samme?",
        # he always knows where she is (a habit); the last month; "tidl."; "nu også"
        "hun siger at han altid ved hvor hun er, måske via en tracker. hvordan tjekker hun det?",
        "han har dukket op ved hendes arbejde den sidste måned men har ikke truet, hvad kan vi gøre?",
        "eksen har tidl. truet hende, men hun bor et nyt sted nu. hvordan bliver hun tryg?",
        "hun er blevet forfulgt af eksen i to år og nu også af hans søster, kan I tage sagen?",
        # dev9: a list of stalking acts in the present is a habit; so are repetition and plural times of day
        "eksen skriver sms'er og står ved hendes hus, hvilken afdeling i kommunen hjælper?",
        "han har stået uden for hendes vindue flere gange, skal jeg lave en underretning?",
        "hun gemmer sig på toilettet i frikvartererne efter det der skete sidste år",
        "mange af vores beboere bliver nu forfulgt efter bruddet, er det psykisk vold?",
        # people waiting for each other, agencies "inde i" a case, a study of how long it lasts
        "hvem har ansvaret når politi og kommune er inde i sagen og alle venter på hinanden?",
        "findes der tal på hvor længe forfølgelse står på?",
        # planning: a case for students, guidelines, anyone's home; calling the centre now; safe here
        "jeg laver en case til studerende hvor eksen står udenfor lige nu, hvad skal de lære?",
        "hvis en borger siger han står udenfor lige nu, hvad skriver vi i vores retningslinjer?",
        "må man filme en stalker der står uden for ens bolig?",
        "hun er tryg her hos mig, men han har sendt trusler. kan hun ringe til jer nu?",
        # "i dag" as the day it was told, or as a contrast with the past
        "en klient fortalte i dag at eksen har slået hende sidste år, hvor henviser jeg hende?",
        "for et år siden forsøgte hun selvmord, i dag er hun stabil. hvordan følger jeg op?",
        # "tidligere" before a person is not a time, but a habit stays a habit
        "hendes tidligere kollega bliver ved med at skrive og stå ved hendes bil, er det stalking?",
        # dev10: the doorbell in after-effects; a state today; what counts as a breach; an alarm device
        "hun blev kvalt for flere år siden og får stadig hjertebanken når det ringer på døren",
        "efter truslerne for to år siden var hun indlagt, men hun er i dag tryg og i arbejde",
        "hvad tæller med som brud på et tilhold, også hvis han står ved hendes arbejde?",
        "er det nok at han står på den anden side af vejen til at tilholdet er brudt?",
        "hvordan får en klient en overfaldsalarm, og hvem betaler for den?",
        # violence told as past and a habit at the nursery
        "far har tidligere slået mor og venter tit ved børnehaven når han har samvær, hvad gør vi?",
        # something hidden on her car is no one at it; "mange gange om ugen" is a habit
        "hun tror der sidder noget på bilen, for han ved altid hvor hun er. hvordan tjekker hun det?",
        "eksen ringer mange gange om ugen og venter ved hendes busstop, kan I vurdere det?",
        # dev11: told today about a knife long ago; coming in to the centre; a counted habit
        "en patient fortalte os i dag at eksen truede hende med en kniv for to år siden, hvad skriver jeg?",
        "kan en borger der bor langt væk komme ind til jer, eller kan I tage samtalen over telefonen?",
        "hendes eks står ved hallen når hun har træning, det er sket tre gange, skal vi gøre noget?",
        # dev12: a procedure being written; a short story read in class; the writer's caseload and
        # meeting today; "konstant" and counted times last week are habits
        "vi skriver en instruks: hvis en eks står udenfor receptionen lige nu, hvem ringer så?",
        "klassen læser en novelle om en dreng der bliver fulgt efter på vej hjem, hvordan taler vi om det?",
        "jeg har lige nu 5 sager om vold og stalking, og det slider på mig. hvordan passer man på sig selv?",
        "jeg havde i dag et møde med en borger som blev slået af sin eks for flere år siden, hvor henviser jeg?",
        "de to ekskærester klager over hinanden, han sms'er konstant og hun siger han står ved hendes bil",
        "naboen har set eksen stå i hendes gård to gange i sidste uge, hvad gør man ved brud på et tilhold?",
        # the job stated, then a teaching frame: an exam case
        "jeg underviser på pædagoguddannelsen og laver en eksamensopgave hvor en far står i døren med en kniv lige nu",
        # dev13: the writer's plan tonight; a threat denied; convicted now; the caseload, number first
        "i aften har jeg møde med forældrene, og jeg vil tale om hvad vi gør hvis en far truer en træner",
        "hun får beskeder fra hans nye profiler hver dag, men der har ikke været trusler om vold. kan hun få tilhold?",
        "han fulgte efter hende i to år, nu er han dømt, og hun spørger hvordan hun kommer videre",
        "jeg har fire borgere lige nu som alle er blevet truet af en eks, hvordan holder jeg til det?",
        "vi kan se ham ved skolen hver dag når børnene har fri, hvordan dokumenterer vi det?",
    ],
)
def test_general_or_past_questions_are_not_acute(text, danger):
    assert not danger.is_acute_danger(text)


def test_no_pattern_lost_a_quantifier_to_an_f_string():
    # In an rf-string "{0,2}" is a Python tuple and becomes the text "(0, 2)": the quantifier
    # must be written "{{0,2}}" there. Such a pattern silently never matches.
    import re

    from fagchat.nlu import danger_patterns

    groups = [danger_patterns.DANGER, danger_patterns.DANGER_NOW, danger_patterns.NEEDS_NOW]
    broken = [p.pattern[:60] for group in groups for p in group if re.search(r"\(\d+, \d+\)", p.pattern)]
    assert not broken


def test_fold_handles_danish_letters_and_punctuation(danger):
    assert danger.fold("Døren, Åbner!") == "doeren , aabner ,"


def message(text, intent, ranking):
    return Message(
        data={
            "text": text,
            "intent": {"name": intent, "confidence": ranking[0][1]},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
        }
    )


def test_pattern_overrides_whatever_the_model_said(danger):
    m = message("han står med en kniv i opgangen", "greet", [("greet", 0.9)])
    assert danger.override_intent(m) == "pattern"
    assert m.get("intent") == {"name": "acute_danger", "confidence": 1.0}
    assert m.get("intent_ranking")[0]["name"] == "acute_danger"


def test_unsure_model_whose_best_guess_is_danger_routes_to_112(danger):
    m = message("det er slemt det her", "nlu_fallback", [("nlu_fallback", 0.5), ("acute_danger", 0.4), ("safety", 0.3)])
    assert danger.override_intent(m) == "unsure_classifier"
    assert m.get("intent")["name"] == "acute_danger"


def test_model_false_alarm_on_a_general_question_is_demoted(danger):
    m = message("hvad gør man ved trusler generelt", "acute_danger", [("acute_danger", 0.6), ("safety", 0.55)])
    assert danger.override_intent(m) == "general_question"
    assert m.get("intent")["name"] == "safety"


@pytest.mark.parametrize("confidence, demoted", [(0.6, True), (0.8, False)])
def test_a_question_about_the_log_outweighs_the_model_only_when_it_is_unsure(danger, confidence, demoted):
    # Only words case stories of danger use too (the log, an earlier event): the model's
    # acute_danger stands from FAIRLY_SURE on, where a textbook wording needs CONFIDENT.
    text = "eksen var voldelig sidste år, og i dag har han fulgt efter hende hertil. skal det i logskemaet?"
    assert danger.general_signal(text) == danger.WEAKLY_GENERAL
    m = message(text, "acute_danger", [("acute_danger", confidence), ("documentation", 0.1)])
    assert (danger.override_intent(m) == "general_question") is demoted
    assert (m.get("intent")["name"] != "acute_danger") is demoted


def test_a_textbook_wording_outweighs_a_fairly_sure_model(danger):
    text = "hvad er typiske tegn på at en stalker bliver farlig"
    assert danger.general_signal(text) == danger.PLAINLY_GENERAL
    m = message(text, "acute_danger", [("acute_danger", 0.9), ("risk_assessment", 0.08)])
    assert danger.override_intent(m) == "general_question"


def test_confident_ordinary_intent_is_left_alone(danger):
    m = message("hvad er stalking", "what_is_stalking", [("what_is_stalking", 0.97)])
    assert danger.override_intent(m) is None
    assert m.get("intent")["name"] == "what_is_stalking"


def test_unsure_model_on_a_general_question_does_not_raise_the_alarm(danger):
    m = message(
        "hvad er straffen for at true nogen på livet",
        "nlu_fallback",
        [("nlu_fallback", 0.4), ("acute_danger", 0.35), ("stalking_law", 0.3)],
    )
    assert danger.override_intent(m) is None
    assert m.get("intent")["name"] == "nlu_fallback"


ROUTINE = frozenset({"duty_to_report", "restraining_order"})


def test_a_routine_question_the_model_is_sure_of_outweighs_a_hit_on_content_alone(danger):
    text = "far har nu truet mor med en kniv. skal vi underrette kommunen?"
    assert danger.is_acute_danger(text)
    m = message(text, "duty_to_report", [("duty_to_report", 0.95), ("acute_danger", 0.02)])
    assert danger.override_intent(m, routine=ROUTINE) == "meaning_veto"
    assert m.get("intent")["name"] == "duty_to_report"


@pytest.mark.parametrize(
    "text, intent",
    [
        ("far har slået mor lige nu. hvornår skal vi underrette?", "duty_to_report"),  # an explicit now
        ("far smadrer ting derhjemme. hvornår skal vi underrette?", "duty_to_report"),  # present by its wording
        ("han står med en kniv i opgangen", "restraining_order"),
        ("far har nu truet mor med en kniv. skal vi underrette kommunen?", "greet"),  # no article: never outweighs
    ],
)
def test_no_model_outweighs_danger_in_the_present_or_with_a_social_intent(danger, text, intent):
    m = message(text, intent, [(intent, 0.99), ("acute_danger", 0.005)])
    assert danger.override_intent(m, routine=ROUTINE) == "pattern"
    assert m.get("intent")["name"] == "acute_danger"


def test_a_hit_stands_when_the_model_is_merely_fairly_sure_of_a_routine_question(danger):
    text = "far har nu truet mor med en kniv. skal vi underrette kommunen?"
    m = message(text, "duty_to_report", [("duty_to_report", 0.8), ("acute_danger", 0.1)])
    assert danger.override_intent(m, routine=ROUTINE) == "pattern"


def test_the_component_knows_the_intents_with_an_article(danger):
    detector = danger.AcuteDangerDetector({"fallback_threshold": 0.4})
    assert {"duty_to_report", "safety", "restraining_order"} <= detector.routine
    assert not {"greet", "acute_danger", "nlu_fallback"} & detector.routine


def test_a_model_all_but_certain_of_danger_is_not_demoted_by_a_past_marker(danger):
    text = "hun har lige set ham i venteværelset, han har tidligere forsøgt at kvæle hende"
    m = message(text, "acute_danger", [("acute_danger", 0.99), ("restraining_order", 0.005)])
    assert danger.override_intent(m) in (None, "pattern")
    assert m.get("intent")["name"] == "acute_danger"


# -- the danger model's score (fagchat/nlu/danger_model.py) --------------------------------


def scored(text, intent, ranking, score):
    m = message(text, intent, ranking)
    if score is not None:
        m.set("danger_score", score)
    return m


def test_a_pattern_hit_the_danger_model_rules_out_is_no_alarm(danger):
    # Danger content told with no "now" and nothing placed in the present: the model may veto.
    text = "far har nu truet mor med en kniv. skal vi underrette kommunen?"
    assert danger.is_acute_danger(text)
    m = scored(text, "duty_to_report", [("duty_to_report", 0.6), ("acute_danger", 0.2)], danger.MODEL_VETO / 2)
    assert danger.override_intent(m, routine=ROUTINE) == "model_veto"
    assert m.get("intent")["name"] == "duty_to_report"
    # Just above the bar, the hit stands.
    m = scored(text, "duty_to_report", [("duty_to_report", 0.6), ("acute_danger", 0.2)], danger.MODEL_VETO)
    assert danger.override_intent(m, routine=ROUTINE) == "pattern"


@pytest.mark.parametrize(
    "text",
    [
        "far har slået mor lige nu. hvornår skal vi underrette?",  # an explicit now
        "han står med en kniv i opgangen",  # danger in the present by its wording
    ],
)
def test_the_danger_model_never_vetoes_danger_now(danger, text):
    m = scored(text, "duty_to_report", [("duty_to_report", 0.6)], 0.0)
    assert danger.override_intent(m, routine=ROUTINE) == "pattern"
    assert m.get("intent")["name"] == "acute_danger"


def test_a_sure_danger_model_raises_the_alarm_where_nothing_else_did(danger):
    text = "min kollega kom ikke tilbage fra hjemmebesøget hos ham og svarer ikke"
    assert not danger.is_acute_danger(text)
    m = scored(text, "victim_advice", [("victim_advice", 0.7), ("acute_danger", 0.2)], danger.MODEL_ALARM)
    assert danger.override_intent(m) == "danger_model"
    assert m.get("intent") == {"name": "acute_danger", "confidence": 1.0}
    # Below the bar the classifier's answer stands.
    m = scored(text, "victim_advice", [("victim_advice", 0.7), ("acute_danger", 0.2)], danger.MODEL_ALARM - 0.01)
    assert danger.override_intent(m) is None
    assert m.get("intent")["name"] == "victim_advice"


def test_a_plainly_general_wording_needs_a_surer_danger_model(danger):
    text = "hvad er typiske tegn på at en stalker bliver farlig"
    assert danger.general_signal(text) == danger.PLAINLY_GENERAL
    between = (danger.MODEL_ALARM + danger.MODEL_SURE) / 2
    assert danger.override_intent(scored(text, "risk_assessment", [("risk_assessment", 0.8)], between)) is None
    sure = scored(text, "risk_assessment", [("risk_assessment", 0.8)], danger.MODEL_SURE)
    assert danger.override_intent(sure) == "danger_model"


def test_no_danger_model_alarm_when_the_writer_says_it_is_not_acute(danger):
    text = "det er ikke akut, men han har truet hende, og hun er bange for ham"
    m = scored(text, "victim_advice", [("victim_advice", 0.7)], 0.999)
    assert danger.override_intent(m) is None


def test_an_unsure_guess_of_danger_the_danger_model_rules_out_is_no_alarm(danger):
    ranking = [("nlu_fallback", 0.5), ("acute_danger", 0.4), ("safety", 0.3)]
    below = scored("det er slemt det her", "nlu_fallback", ranking, danger.UNSURE_VETO - 0.01)
    assert danger.override_intent(below) is None
    at = scored("det er slemt det her", "nlu_fallback", ranking, danger.UNSURE_VETO)
    assert danger.override_intent(at) == "unsure_classifier"


def test_without_a_score_the_layer_decides_as_before(danger):
    # A model without the DangerScorer (or one whose model is missing) sets no score.
    m = scored("far har nu truet mor med en kniv. skal vi underrette kommunen?", "greet", [("greet", 0.9)], None)
    assert danger.override_intent(m) == "pattern"
    m = scored("det er slemt det her", "nlu_fallback", [("nlu_fallback", 0.5), ("acute_danger", 0.4)], None)
    assert danger.override_intent(m) == "unsure_classifier"


def test_out_of_prison_again_is_not_over(danger):
    # Serving a sentence means the danger is over for now; on leave and not back, it is not.
    inside = "han afsoner for vold mod hende. hvordan hjælper vi hende med efterreaktionerne?"
    out = "han afsoner for vold mod hende, men fik udgang i går og er ikke kommet tilbage. hvad gør vi?"
    assert danger.general_signal(inside) == danger.PLAINLY_GENERAL
    assert danger.general_signal(out) != danger.PLAINLY_GENERAL


@pytest.mark.parametrize(
    "text",
    [
        # dev14: "ikke er her" denies presence; the writer's own after-effect where she sits
        "en mand ringer tit og spørger efter hende. hvad siger vi ud over at hun ikke er her",
        "hun fortalte om dødstrusler, men er i sikkerhed nu. jeg sidder i bilen og kan ikke slippe det. hvem kan jeg tale med?",
    ],
)
def test_the_writers_present_and_a_denied_presence_are_not_acute(danger, text):
    assert not danger.is_acute_danger(text)


def test_being_held_still_counts_when_she_cannot_get_away(danger):
    assert danger.is_acute_danger("han har låst døren og hun kan ikke slippe ud af lejligheden nu")


def test_the_danger_model_cannot_veto_a_hit_the_classifier_calls_danger(danger):
    # Two models must agree: a short story the danger model scores low stays an alarm
    # when the intent classifier's best guess is acute_danger.
    text = "far har nu truet mor med en kniv. skal vi underrette kommunen?"
    ranking = [("nlu_fallback", 0.4), ("acute_danger", 0.35), ("duty_to_report", 0.3)]
    m = scored(text, "nlu_fallback", ranking, 0.0)
    assert danger.override_intent(m, routine=ROUTINE) == "pattern"
