"""The phrase bank behind `radlabel.synth`: chest X-ray sentences, each declaring what it asserts.

Every template belongs to one class and one state (or, for `COMBOS`, to several), so a report
built from them has labels that are true by construction. Rules the templates keep, so that
`radlabel.synth`'s labels stay true under the default ontology's synonym matchers:

- a sentence names no finding class other than the ones it declares (no "calcified nodule",
  "nodular", "pericardial effusion", "subcutaneous emphysema", "density", "aspiration");
- an absent state is stated with a class synonym or one of the class's ``normal_phrases``;
- hedges are unambiguous ("possible", "may represent", "cannot be excluded", "questionable",
  "suspicious for", "versus"); "likely"/"probable"/"no definite" are never used;
- signs that are not the finding itself (costophrenic blunting alone, COPD alone, hyperinflation
  alone) never carry a label on their own.

Template syntax is `str.format` fields: ``{slot}`` is a per-report value of the template's class
(``side``, ``lobe``, ...; see `SLOTS`), ``{np:Class}``/``{neg:Class}``/``{unc:Class}``/
``{prior:Class}`` render a noun phrase of that class, ``{slot:Class}`` reads another class's slot,
and a capitalised field name capitalises the value ("{NP:Opacity}", "{Esize}").
"""
from __future__ import annotations

from dataclasses import dataclass, field

CARDIO = "Cardiomegaly"
EFFUSION = "Pleural Effusion"
ATELECTASIS = "Atelectasis"
PTX = "Pneumothorax"
EDEMA = "Edema"
CONSOLIDATION = "Consolidation"
PNEUMONIA = "Pneumonia"
NODULE = "Nodule/Mass"
FRACTURE = "Fracture"
EMPHYSEMA = "Emphysema"
GRANULOMA = "Granuloma"
OPACITY = "Opacity"
DEVICES = "Support Devices"
NO_FINDING = "No Finding"

# Classes whose presence (or possibility) forbids "the lungs are clear".
LUNG_PARENCHYMA = frozenset({OPACITY, CONSOLIDATION, PNEUMONIA, ATELECTASIS, EDEMA, NODULE})

# Classes that come and go between studies ("new", "improved", "resolved" make sense for them).
ACUTE = frozenset({EFFUSION, ATELECTASIS, PTX, EDEMA, CONSOLIDATION, PNEUMONIA, OPACITY})

# An absent statement for the key is contradictory while any of these is present/uncertain.
ABSENT_CONFLICTS = {
    OPACITY: frozenset({CONSOLIDATION, PNEUMONIA}),
    CONSOLIDATION: frozenset({PNEUMONIA}),
    PNEUMONIA: frozenset({CONSOLIDATION}),
}

# Classes that share per-report slots (one lung focus for opacity, consolidation, pneumonia).
SLOT_GROUP = {PNEUMONIA: CONSOLIDATION, OPACITY: CONSOLIDATION}

# Per-report slot values. A value containing "{" is itself rendered (once, then cached).
SLOTS: dict[str, list[str]] = {
    "side": ["left", "right"],
    "side3": ["left", "right", "left", "right", "bilateral"],
    "esize": ["trace", "small", "small", "small", "moderate", "large"],
    "psize": ["tiny", "small", "small", "moderate", "large"],
    "lobe": ["right upper lobe", "right middle lobe", "right lower lobe", "right lower lobe",
             "left upper lobe", "left lower lobe", "left lower lobe"],
    "zone": ["bibasilar", "bibasilar", "left basilar", "right basilar", "left lower lobe",
             "right lower lobe", "right middle lobe", "lingular", "left perihilar"],
    "mild": ["mild", "mild", "mild", "moderate", "severe"],
    "deg": ["mild", "mild", "moderate", "borderline", "marked"],
    "adv": ["mildly", "mildly", "moderately", "markedly"],
    "nsize": ["6 mm", "8 mm", "9 mm", "1.1 cm", "1.4 cm", "1.8 cm", "2.2 cm"],
    "msize": ["3.5 cm", "4 cm", "4.6 cm", "5.2 cm", "6 cm"],
    "lesion": ["{nsize} nodule", "{nsize} pulmonary nodule", "{nsize} nodule",
               "{msize} mass", "spiculated {msize} mass"],
    "rib": ["left 5th", "left 6th", "left 7th", "left 8th", "right 4th", "right 6th",
            "right 8th", "right 9th", "left posterior 9th"],
    "vert": ["T11", "T12", "L1", "mid thoracic", "lower thoracic"],
    "fx": ["healed {side} rib fractures", "acute nondisplaced fracture of the {rib} rib",
           "old healed {side} clavicle fracture", "mild compression deformity of the {vert} vertebral body",
           "minimally displaced fracture of the {rib} rib", "healed fracture of the {rib} rib"],
    "cm": ["3 cm", "3.5 cm", "4 cm", "4.5 cm", "5 cm", "6 cm"],
}


# Where a {zone} is, for "in the ..." / "at the ...".
ZONE_LOCATIONS = {"bibasilar": "lung bases", "left basilar": "left lung base", "right basilar": "right lung base",
                  "left lower lobe": "left lower lobe", "right lower lobe": "right lower lobe",
                  "right middle lobe": "right middle lobe", "lingular": "lingula",
                  "left perihilar": "left perihilar region"}


def _article(phrase: str) -> str:
    """'a'/'an' for the phrase's first word (letters by vowel; numbers by how they are read)."""
    first = phrase.split()[0].lower() if phrase.split() else ""
    an = first[:1] in "aeiou" or first.startswith(("8", "11", "18"))
    return ("an " if an else "a ") + phrase


# Slots computed from other slots of the same class, never drawn.
DERIVED = {
    "pe": lambda get: "pleural effusions" if get("side3") == "bilateral" else "pleural effusion",
    "eff": lambda get: "effusions" if get("side3") == "bilateral" else "effusion",
    "is_are": lambda get: "are" if get("side3") == "bilateral" else "is",
    "other_side": lambda get: "right" if get("side") == "left" else "left",
    "a_lesion": lambda get: _article(get("lesion")),
    "zone_loc": lambda get: ZONE_LOCATIONS[get("zone")],
    "cpa": lambda get: ("bilateral costophrenic angles" if get("side3") == "bilateral"
                        else get("side3") + " costophrenic angle"),
    "a_esize_pe": lambda get: (get("esize") + " pleural effusions" if get("side3") == "bilateral"
                               else _article(get("esize") + " pleural effusion")),
}


@dataclass(frozen=True)
class ClassPhrases:
    """Everything the generator can say about one class."""

    find: list[str]                 # findings-style sentences asserting presence
    np: list[str]                   # telegraphic noun phrases asserting presence
    unc: list[str] = field(default_factory=list)      # hedged sentences
    unc_np: list[str] = field(default_factory=list)   # noun phrases for the hedge frames
    neg: list[str] = field(default_factory=list)      # bespoke absent sentences (normal phrasing)
    neg_np: list[str] = field(default_factory=list)   # noun phrases for the negation frames
    prior_np: list[str] = field(default_factory=list)  # for "... has resolved"
    region: int = 5                 # order in FINDINGS (devices, lungs, pleura, heart, bones)


PHRASES: dict[str, ClassPhrases] = {
    CARDIO: ClassPhrases(
        find=["The heart is {adv} enlarged.", "The cardiac silhouette is {adv} enlarged.",
              "{Deg} cardiomegaly.", "There is {deg} cardiomegaly.", "Heart size is {adv} enlarged.",
              "The heart size is borderline enlarged.", "Enlarged cardiac silhouette.",
              "{Deg} enlargement of the cardiac silhouette."],
        np=["{deg} cardiomegaly", "cardiomegaly", "enlarged cardiac silhouette",
            "{deg} enlargement of the cardiac silhouette"],
        unc=["The heart may be mildly enlarged.",
             "Heart size is difficult to assess on this AP view; cardiomegaly cannot be excluded.",
             "Questionable mild enlargement of the cardiac silhouette.",
             "The cardiac silhouette is possibly mildly enlarged."],
        unc_np=["mild cardiomegaly", "cardiomegaly"],
        neg=["Heart size is normal.", "The heart is normal in size.", "The heart size is within normal limits.",
             "Normal heart size.", "The cardiac silhouette is normal in size.",
             "The cardiomediastinal silhouette is within normal limits.", "Cardiomediastinal silhouette is normal.",
             "The heart is not enlarged.", "Normal cardiac silhouette."],
        neg_np=["cardiomegaly"],
        region=4),
    EFFUSION: ClassPhrases(
        find=["{Esize} {side3} {pe}.", "{Esize} {side3} {pe} {is_are} present.", "{Esize} {side3} {eff}.",
              "Layering {side3} {pe}.", "Blunting of the {cpa}, consistent with {a_esize_pe}."],
        np=["{esize} {side3} {pe}", "{esize} {side3} {eff}", "{esize} {side3} {pe}"],
        unc=["Blunting of the {side} costophrenic angle may represent a small pleural effusion or pleural thickening.",
             "A small {side} pleural effusion cannot be excluded.",
             "Possible trace {side} pleural effusion.",
             "Questionable small {side} effusion."],
        unc_np=["small {side} pleural effusion", "trace {side} pleural effusion", "small {side} effusion"],
        neg=["The costophrenic angles are sharp.", "Sharp costophrenic angles.", "Costophrenic angles are clear.",
             "No pleural effusions are seen."],
        neg_np=["pleural effusion", "pleural effusion", "effusion"],
        prior_np=["{side} pleural effusion", "{side} effusion"],
        region=3),
    ATELECTASIS: ClassPhrases(
        find=["{Zone} atelectasis.", "{Zone} subsegmental atelectasis.", "Linear atelectasis at the {zone_loc}.",
              "There is {mild} {zone} atelectasis.", "Platelike atelectasis in the {zone_loc}.",
              "{Zone} volume loss with atelectasis.", "Minimal {zone} atelectasis.",
              "Streaky {zone} atelectasis."],
        np=["{zone} atelectasis", "{mild} {zone} atelectasis", "{zone} subsegmental atelectasis"],
        unc=["Possible {zone} atelectasis.", "{Zone} atelectasis cannot be excluded.",
             "Questionable {zone} subsegmental atelectasis."],
        unc_np=["{zone} atelectasis", "subsegmental atelectasis in the {zone_loc}"],
        neg_np=["atelectasis"],
        prior_np=["{zone} atelectasis"],
        region=1),
    PTX: ClassPhrases(
        find=["{Psize} {side} apical pneumothorax.", "There is a {psize} {side} pneumothorax.",
              "{Psize} {side} pneumothorax.", "{Psize} {side} pneumothorax with a visible pleural line.",
              "A {psize} {side} apical pneumothorax is present."],
        np=["{psize} {side} pneumothorax", "{psize} {side} apical pneumothorax"],
        unc=["Questionable tiny {side} apical pneumothorax.", "Possible small {side} apical pneumothorax.",
             "A tiny {side} apical pneumothorax cannot be excluded.",
             "Subtle lucency at the {side} apex may represent a small pneumothorax."],
        unc_np=["small {side} apical pneumothorax", "tiny {side} pneumothorax"],
        neg=["Pneumothorax is not seen.", "No pneumothorax is identified.", "There is no evidence of pneumothorax."],
        neg_np=["pneumothorax"],
        prior_np=["{side} pneumothorax", "{side} apical pneumothorax"],
        region=3),
    EDEMA: ClassPhrases(
        find=["{Mild} pulmonary edema.", "{Mild} interstitial edema.", "There is {mild} pulmonary vascular congestion.",
              "Pulmonary vascular congestion with {mild} interstitial edema.",
              "Findings are consistent with {mild} pulmonary edema.",
              "Cephalization of the pulmonary vessels, consistent with {mild} congestive heart failure.",
              "Kerley B lines and {mild} interstitial edema.", "Findings consistent with {mild} CHF."],
        np=["{mild} pulmonary edema", "{mild} interstitial edema", "{mild} pulmonary vascular congestion",
            "{mild} congestive heart failure"],
        unc=["Possible {mild} interstitial edema.", "Early pulmonary edema cannot be excluded.",
             "Prominence of the pulmonary vessels may represent mild vascular congestion.",
             "Questionable mild pulmonary vascular congestion."],
        unc_np=["mild interstitial edema", "early pulmonary edema", "mild vascular congestion"],
        neg=["Pulmonary vascularity is normal.", "Normal pulmonary vascularity.", "The pulmonary vasculature is normal.",
             "No evidence of CHF."],
        neg_np=["pulmonary edema", "pulmonary edema", "edema", "vascular congestion"],
        prior_np=["pulmonary edema", "interstitial edema", "pulmonary vascular congestion"],
        region=1),
    CONSOLIDATION: ClassPhrases(
        find=["Focal consolidation in the {lobe}.", "{Lobe} consolidation.",
              "Dense {lobe} consolidation with air bronchograms.",
              "There is airspace consolidation in the {lobe}.", "Consolidation of the {lobe}."],
        np=["{lobe} consolidation", "focal {lobe} consolidation", "consolidation in the {lobe}"],
        unc=["Possible {lobe} consolidation.", "Early consolidation in the {lobe} cannot be excluded.",
             "Questionable focal consolidation in the {lobe}."],
        unc_np=["{lobe} consolidation", "focal consolidation"],
        neg=["The lungs are free of consolidation."],
        neg_np=["focal consolidation", "focal consolidation", "consolidation", "airspace consolidation"],
        prior_np=["{lobe} consolidation", "consolidation in the {lobe}"],
        region=1),
    PNEUMONIA: ClassPhrases(
        find=["{Lobe} pneumonia.", "Findings consistent with {lobe} pneumonia.", "Pneumonia in the {lobe}.",
              "Findings compatible with pneumonia in the {lobe}."],
        np=["{lobe} pneumonia", "pneumonia in the {lobe}"],
        unc=["Possible early pneumonia.", "Pneumonia cannot be excluded.",
             "Possible infectious process in the {lobe}.", "Questionable early {lobe} pneumonia.",
             "Early pneumonia in the {lobe} cannot be excluded in the appropriate clinical setting."],
        unc_np=["pneumonia", "early pneumonia", "{lobe} pneumonia"],
        neg=["No radiographic evidence of pneumonia.", "No findings to suggest pneumonia."],
        neg_np=["pneumonia", "focal pneumonia"],
        prior_np=["{lobe} pneumonia"],
        region=1),
    OPACITY: ClassPhrases(
        find=["Patchy opacity in the {zone_loc}.", "{Zone} airspace disease.", "Hazy opacity in the {zone_loc}.",
              "There is an infiltrate in the {zone_loc}.", "Streaky {zone} opacities.", "Ill-defined {zone} opacity.",
              "{Zone} airspace opacity.", "Patchy {zone} opacities."],
        np=["{zone} opacity", "patchy {zone} opacity", "{zone} airspace disease", "{zone} infiltrate",
            "{zone} opacities"],
        unc=["Questionable subtle opacity in the {zone_loc}.", "Possible faint {zone} opacity.",
             "Subtle {zone} airspace disease cannot be excluded."],
        unc_np=["{zone} opacity", "subtle {zone} opacity", "{zone} infiltrate"],
        neg=["The lungs are free of focal airspace disease."],
        neg_np=["focal airspace disease", "focal opacity", "infiltrate", "focal airspace opacity"],
        prior_np=["{zone} opacity", "{zone} airspace disease", "{zone} infiltrate"],
        region=1),
    NODULE: ClassPhrases(
        find=["{Lesion} in the {lobe}.", "There is {a_lesion} in the {lobe}.",
              "{Lesion} projecting over the {lobe}.", "{Lesion} in the {lobe}, new compared with older studies."],
        np=["{lesion} in the {lobe}"],
        unc=["Questionable {nsize} nodule projecting over the {side} lower lung, possibly a nipple shadow.",
             "Possible {nsize} nodule in the {lobe}; CT is recommended.",
             "A small pulmonary nodule in the {lobe} cannot be excluded.",
             "Rounded lesion in the {lobe}, suspicious for a mass."],
        unc_np=["{nsize} nodule in the {lobe}", "{lobe} mass"],
        neg=["No suspicious pulmonary nodules or masses."],
        neg_np=["suspicious pulmonary nodule", "pulmonary mass"],
        region=2),
    FRACTURE: ClassPhrases(
        find=["{Fx}.", "Visualized osseous structures demonstrate {fx}."],
        np=["{fx}"],
        unc=["Possible nondisplaced fracture of the {rib} rib.",
             "Questionable fracture of the {rib} rib; rib series can be obtained if clinically indicated.",
             "Subtle cortical irregularity of the {rib} rib may represent a nondisplaced fracture.",
             "A subtle {rib} rib fracture cannot be excluded."],
        unc_np=["nondisplaced {rib} rib fracture"],
        neg=["No acute rib fracture is seen."],
        neg_np=["acute fracture", "displaced rib fracture", "acute rib fracture"],
        region=6),
    EMPHYSEMA: ClassPhrases(
        find=["The lungs are hyperinflated with emphysematous changes.", "Changes of emphysema.",
              "Emphysema with apical bullae.", "Upper lobe predominant emphysema.",
              "Flattened hemidiaphragms and hyperlucent lungs, consistent with emphysema.",
              "Bullous emphysema in the upper lobes."],
        np=["emphysema", "emphysematous changes", "upper lobe predominant emphysema", "bullous emphysema"],
        unc=["Hyperinflated lungs, which may reflect emphysema.", "Possible mild emphysema.",
             "Hyperexpanded lungs; underlying emphysema cannot be excluded."],
        unc_np=["mild emphysema", "emphysema"],
        neg_np=["emphysema"],
        region=2),
    GRANULOMA: ClassPhrases(
        find=["Calcified granuloma in the {lobe}.", "There is a calcified granuloma in the {lobe}.",
              "Scattered calcified granulomas.", "Stable {lobe} granuloma.",
              "Sequela of prior granulomatous disease.",
              "Small calcified granuloma projecting over the {side} mid lung."],
        np=["calcified granuloma in the {lobe}", "{lobe} granuloma", "calcified granulomas",
            "old granulomatous disease"],
        unc=["Tiny calcified focus in the {lobe}, possibly a granuloma.",
             "Punctate calcification in the {lobe} may represent a granuloma."],
        unc_np=["calcified granuloma"],
        neg_np=["calcified granuloma"],
        region=2),
    DEVICES: ClassPhrases(find=[], np=[], neg=["Interval removal of the endotracheal tube.",
                                               "Interval removal of the nasogastric tube and right IJ central line.",
                                               "The previously seen right PICC has been removed."],
                          region=0),
}

# Support devices: (findings sentences, impression sentence). One report shows 1-3 of them.
DEVICES_LIST: list[tuple[list[str], str]] = [
    (["Endotracheal tube terminates {cm} above the carina.", "ET tube tip is {cm} above the carina.",
      "The endotracheal tube is in satisfactory position, {cm} above the carina."],
     "Endotracheal tube in appropriate position."),
    (["Nasogastric tube courses below the diaphragm with the tip in the stomach.", "NG tube tip is in the stomach.",
      "Enteric tube passes below the diaphragm and out of view."], "Enteric tube in the stomach."),
    (["Right internal jugular central venous catheter tip in the SVC.",
      "Left subclavian central line with tip in the distal SVC.",
      "Right IJ central line terminates at the cavoatrial junction."], "Central venous catheter in good position."),
    (["Right PICC line tip in the lower SVC.", "Left upper extremity PICC terminates in the SVC."],
     "PICC in satisfactory position."),
    (["Left chest wall pacemaker with leads in the right atrium and right ventricle.", "Dual-lead pacemaker in place.",
      "Right-sided pacer with leads in expected position.",
      "Left chest wall AICD with leads terminating in the right ventricle."], "Pacemaker in place."),
    (["Median sternotomy wires.", "Intact median sternotomy wires.",
      "Sternotomy wires and mediastinal clips from prior CABG."], "Postoperative changes of median sternotomy."),
    (["Right chest port-a-cath with catheter tip in the SVC."], "Port-a-cath in place."),
    (["Left chest tube in place.", "Right basilar chest tube in place."], "Chest tube in place."),
    (["Prosthetic aortic valve.", "A prosthetic aortic valve is noted."], "Prosthetic aortic valve."),
]

# Frames around a class's noun phrase. {NP}/{np} = present, {UNC}/{unc} = hedged, {NEG}/{neg} = negated.
PRESENT_FRAMES = ["{NP}."]
COMPARE_FRAMES = ["{NP}, unchanged from {prior_study}.", "{NP}, stable since {prior_study}.", "Unchanged {np}.",
                  "Stable {np}.", "Compared with {prior_study}, no significant change in {np}."]
ACUTE_COMPARE_FRAMES = ["{NP}, new since {prior_study}.", "Interval improvement in {np}.",
                        "Compared with {prior_study}, there is interval improvement in {np}.",
                        "Compared with {prior_study}, interval worsening of {np}.", "Interval increase in {np}.",
                        "New {np}."]
UNC_FRAMES = ["Possible {unc}.", "Questionable {unc}.", "{UNC} cannot be excluded.", "Cannot exclude {unc}.",
              "Equivocal {unc}."]
NEG_FRAMES = ["No {neg}.", "No {neg}.", "No evidence of {neg}.", "There is no {neg}.", "{NEG} is not seen.",
              "{NEG} is not identified.", "No {neg} is seen.", "No {neg} is identified.", "Negative for {neg}."]
NEG_LIST2 = ["No {a} or {b}.", "No {a} or {b}.", "There is no {a} or {b}.", "No evidence of {a} or {b}.",
             "No {a} or {b} is seen."]
NEG_LIST3 = ["No {a}, {b}, or {c}.", "No {a}, {b} or {c}.", "There is no {a}, {b}, or {c}.",
             "No evidence of {a}, {b}, or {c}."]
RESOLVED_FRAMES = ["Interval resolution of the {prior}.", "Previously seen {prior} has resolved.",
                   "The previously noted {prior} has resolved.", "Resolved {prior}."]
CONTRALATERAL_NEG = {PTX: "No {other_side}-sided pneumothorax.", EFFUSION: "No {other_side} pleural effusion."}

LUNGS_CLEAR = ["The lungs are clear.", "Lungs are clear.", "The lungs are clear bilaterally.", "Clear lungs.",
               "Both lungs are clear.", "The lung fields are clear."]


@dataclass(frozen=True)
class Combo:
    """One sentence asserting several classes at once, e.g. an opacity that may be pneumonia."""

    needs: tuple[tuple[str, str], ...]
    templates: tuple[str, ...]
    lungs_clear: bool = False  # says "lungs ... clear": only when no lung parenchyma finding


COMBOS: list[Combo] = [
    Combo(((OPACITY, "present"), (PNEUMONIA, "uncertain")),
          ("{NP:Opacity}, which may represent pneumonia.", "{NP:Opacity} may represent pneumonia.",
           "{NP:Opacity}, suspicious for pneumonia.", "{NP:Opacity}; pneumonia cannot be excluded.",
           "{NP:Opacity}, possibly an early infectious process.")),
    Combo(((OPACITY, "present"), (ATELECTASIS, "uncertain")),
          ("{NP:Opacity}, possibly atelectasis.", "{NP:Opacity}, which may represent atelectasis.")),
    Combo(((OPACITY, "present"), (ATELECTASIS, "uncertain"), (PNEUMONIA, "uncertain")),
          ("{NP:Opacity}, atelectasis versus pneumonia.", "{NP:Opacity} may represent atelectasis or pneumonia.",
           "{NP:Opacity}, which could reflect atelectasis or early pneumonia.")),
    Combo(((ATELECTASIS, "uncertain"), (PNEUMONIA, "uncertain")),
          ("{Zone:Atelectasis} atelectasis versus pneumonia.",
           "Atelectasis versus early pneumonia in the {zone_loc:Atelectasis}.")),
    Combo(((ATELECTASIS, "uncertain"), (CONSOLIDATION, "uncertain")),
          ("{Zone:Atelectasis} atelectasis versus consolidation.",)),
    Combo(((CONSOLIDATION, "present"), (PNEUMONIA, "present")),
          ("{NP:Consolidation} consistent with pneumonia.", "{NP:Consolidation}, compatible with pneumonia.")),
    Combo(((CONSOLIDATION, "present"), (PNEUMONIA, "uncertain")),
          ("{NP:Consolidation}, suspicious for pneumonia.",
           "{NP:Consolidation}, which may represent pneumonia in the appropriate clinical setting.")),
    Combo(((CARDIO, "present"), (EDEMA, "absent")),
          ("{NP:Cardiomegaly} without {neg:Edema}.", "{NP:Cardiomegaly}; no {neg:Edema}.")),
    Combo(((CARDIO, "present"), (EDEMA, "present")),
          ("{NP:Cardiomegaly} with {np:Edema}.",)),
    Combo(((EFFUSION, "present"), (PTX, "absent")),
          ("{NP:Pleural Effusion} without {neg:Pneumothorax}.", "No {neg:Pneumothorax}, but {np:Pleural Effusion}.",
           "{NP:Pleural Effusion}; no {neg:Pneumothorax}.")),
    Combo(((EFFUSION, "present"), (PTX, "present")),
          ("{Psize:Pneumothorax} {side:Pneumothorax} hydropneumothorax.",)),
    Combo(((EFFUSION, "present"), (ATELECTASIS, "present")),
          ("{NP:Pleural Effusion} with adjacent atelectasis.",
           "{NP:Pleural Effusion} with associated compressive atelectasis.")),
    Combo(((EDEMA, "present"), (EFFUSION, "present")),
          ("{NP:Edema} and {np:Pleural Effusion}.",)),
    Combo(((ATELECTASIS, "present"), (CONSOLIDATION, "absent")),
          ("{NP:Atelectasis} without {neg:Consolidation}.",)),
    Combo(((EMPHYSEMA, "present"), (OPACITY, "absent")),
          ("The lungs are hyperinflated but clear, with emphysematous changes.",), lungs_clear=True),
    Combo(((EMPHYSEMA, "present"), (OPACITY, "absent")),
          ("{NP:Emphysema} without {neg:Opacity}.",)),
    Combo(((OPACITY, "absent"), (CONSOLIDATION, "absent")),
          ("The lungs are clear without {neg:Consolidation}.",), lungs_clear=True),
    Combo(((OPACITY, "absent"), (EFFUSION, "absent"), (PTX, "absent")),
          ("Lungs are clear, with no {neg:Pleural Effusion} or {neg:Pneumothorax}.",), lungs_clear=True),
    Combo(((GRANULOMA, "present"), (OPACITY, "absent")),
          ("The lungs are clear except for {np:Granuloma}.",), lungs_clear=True),
]

# Findings that are abnormal but belong to no class: they make "No Finding" false.
INCIDENTAL = ["Degenerative changes of the thoracic spine.", "Mild degenerative changes in the thoracic spine.",
              "Tortuous thoracic aorta.", "The aorta is tortuous.", "Atherosclerotic calcification of the aortic knob.",
              "Surgical clips in the right upper quadrant.", "Cholecystectomy clips are noted.",
              "Mild dextroscoliosis of the thoracic spine.", "Small hiatal hernia.",
              "Degenerative changes of both shoulders.", "Multilevel degenerative disc disease of the thoracic spine.",
              "Postsurgical changes of the right axilla with surgical clips.",
              "Elevation of the right hemidiaphragm.", "Calcified aortic arch."]

# Normal statements that assert nothing about any class.
NEUTRAL = ["The mediastinal contours are normal.", "Hilar contours are unremarkable.", "The trachea is midline.",
           "The visualized upper abdomen is unremarkable.", "Mediastinal and hilar contours are within normal limits."]
# ... and about bones, so only where no fracture is present or possible.
NEUTRAL_BONES = ["No acute bony abnormality.", "Visualized osseous structures are unremarkable.",
                 "No acute osseous abnormality."]
NEUTRAL_OPENI = ["XXXX XXXX are intact.", "Visualized XXXX of the chest are within normal limits.",
                 "The XXXX are normal."]

# Impression summaries. NORMAL_ONLY ones deny any abnormality; the others only acute ones.
SUMMARY_NORMAL_ONLY = ["Normal chest.", "Normal chest radiograph.", "No abnormality of the chest."]
SUMMARY_NO_ACUTE = ["No acute cardiopulmonary abnormality.", "No acute cardiopulmonary process.",
                    "No acute cardiopulmonary disease.", "No active disease.", "No acute disease.",
                    "No radiographic evidence of acute cardiopulmonary disease."]

TECHNIQUE = ["PA and lateral views of the chest.", "Frontal and lateral views of the chest.",
             "Single portable AP view of the chest.", "Chest, 2 views.", "AP portable upright chest radiograph.",
             "CHEST (PA AND LAT)", "Portable semi-upright AP chest."]

COMPLAINTS = ["cough", "chest pain", "shortness of breath", "fever", "dyspnea on exertion", "cough and fever",
              "hypoxia", "weakness", "pleuritic chest pain", "productive cough"]
INDICATION_GENERIC = ["{Complaint}.", "{age} {sex} with {complaint}.", "Preoperative evaluation.",
                      "Routine follow-up.", "{Complaint}, evaluate.", "{age} {sex} with {complaint} for 3 days."]
# Questions in the indication: (template, classes whose synonyms the template contains).
INDICATION_QUESTIONS: list[tuple[str, tuple[str, ...]]] = [
    ("Evaluate for pneumonia.", (PNEUMONIA,)),
    ("{Complaint}, rule out pneumonia.", (PNEUMONIA,)),
    ("{age} {sex} with {complaint}, ? pneumonia.", (PNEUMONIA,)),
    ("r/o pneumonia", (PNEUMONIA,)),
    ("Productive cough. Evaluate for infiltrate.", (OPACITY,)),
    ("Rule out pneumothorax.", (PTX,)),
    ("Status post line placement, evaluate for pneumothorax.", (PTX,)),
    ("Shortness of breath, evaluate for CHF.", (EDEMA,)),
    ("Dyspnea. Assess for pulmonary edema.", (EDEMA,)),
    ("Assess for pleural effusion.", (EFFUSION,)),
    ("r/o effusion", (EFFUSION,)),
    ("Fall with left rib pain, evaluate for fracture.", (FRACTURE,)),
    ("Trauma. Rule out rib fracture.", (FRACTURE,)),
    ("History of lung cancer, evaluate for mass.", (NODULE,)),
    ("Follow-up of pulmonary nodule.", (NODULE,)),
    ("History of emphysema with increasing dyspnea.", (EMPHYSEMA,)),
    ("Endotracheal tube placement.", (DEVICES,)),
    ("PICC placement, check position.", (DEVICES,)),
]
# Classes the impression may answer with a negation when the indication asked about them.
ANSWERABLE = frozenset({PNEUMONIA, OPACITY, PTX, EDEMA, EFFUSION, FRACTURE, NODULE})


# --------------------------------------------------------------------------------------------
# Second modality: non-contrast head CT (style "head_ct" of radlabel.synth)
# --------------------------------------------------------------------------------------------
# Written by us. Each class has wordings that state it present (varied on purpose: the class
# name, abbreviations, descriptive phrases a radiologist uses), hedged and absent. A sentence
# names no other head CT class. The matching class file is radlabel/resources/head_ct.yaml.
HEAD_NO_FINDING = "No Finding"
HEAD_CT: dict[str, dict[str, list[str]]] = {
    "Intracranial Hemorrhage": {
        "present": ["Acute intraparenchymal hemorrhage in the {side} {lobe} lobe.",
                    "There is an intracerebral hematoma in the {side} basal ganglia.",
                    "Hyperdense blood products within the {side} {lobe} lobe.",
                    "Small intracranial hemorrhage in the {side} {lobe} lobe.",
                    "Acute parenchymal bleed centered in the {side} thalamus.",
                    "Intraventricular hemorrhage layering in the occipital horns."],
        "uncertain": ["Possible small focus of intraparenchymal hemorrhage in the {side} {lobe} lobe."],
        "absent": ["No intracranial hemorrhage.", "No acute intraparenchymal hemorrhage.",
                   "There is no evidence of acute intracranial hemorrhage."],
        "rate": 0.15},
    "Subdural Hematoma": {
        "present": ["Crescentic subdural hematoma along the {side} convexity measuring {mm} mm.",
                    "There is a {side} subdural collection measuring {mm} mm in thickness.",
                    "Acute {side} SDH along the convexity.",
                    "Mixed density {side} subdural hematoma.",
                    "Thin {side} subdural collection along the tentorium."],
        "uncertain": ["Questionable thin {side} subdural collection."],
        "absent": ["No subdural hematoma.", "No extra-axial collection.",
                   "There is no subdural collection."],
        "rate": 0.12},
    "Infarct": {
        "present": ["Acute infarct in the {side} MCA territory.",
                    "Loss of gray-white differentiation in the {side} {lobe} lobe compatible with acute ischemic stroke.",
                    "Hypodensity in the {side} MCA territory consistent with an evolving infarction.",
                    "Chronic lacunar infarct in the {side} internal capsule.",
                    "Encephalomalacia in the {side} {lobe} lobe from a prior stroke."],
        "uncertain": ["Cannot exclude an early infarct in the {side} MCA territory."],
        "absent": ["No acute infarct.", "No CT evidence of acute territorial infarction.",
                   "Gray-white differentiation is preserved."],
        "rate": 0.18},
    "Hydrocephalus": {
        "present": ["Ventriculomegaly out of proportion to the sulci.",
                    "The lateral and third ventricles are dilated.",
                    "Enlarged ventricles with transependymal flow.",
                    "Moderate hydrocephalus.",
                    "Dilatation of the ventricular system."],
        "uncertain": ["Borderline ventricular enlargement, possibly early hydrocephalus."],
        "absent": ["No hydrocephalus.", "The ventricles are normal in size.",
                   "Ventricular size is normal."],
        "rate": 0.10},
    "Mass Effect": {
        "present": ["There is {mm} mm of rightward midline shift.",
                    "Leftward midline shift of {mm} mm.",
                    "Effacement of the {side} lateral ventricle.",
                    "Local sulcal effacement.",
                    "Mass effect on the {side} lateral ventricle."],
        "uncertain": ["Possible mild mass effect on the {side} lateral ventricle."],
        "absent": ["No midline shift.", "No mass effect.", "There is no midline shift or herniation."],
        "rate": 0.12},
    "Skull Fracture": {
        "present": ["Nondisplaced fracture of the {side} parietal bone.",
                    "Depressed calvarial fracture of the {side} frontal bone.",
                    "There is a {side} temporal bone fracture.",
                    "Linear skull fracture of the {side} occipital bone."],
        "uncertain": ["Questionable nondisplaced fracture of the {side} parietal bone."],
        "absent": ["No skull fracture.", "The calvarium is intact.", "No acute calvarial fracture."],
        "rate": 0.08},
    "Cerebral Atrophy": {
        "present": ["Generalized cerebral volume loss.",
                    "Age-related involutional changes.",
                    "Diffuse parenchymal volume loss with prominent sulci.",
                    "Mild diffuse cerebral atrophy.",
                    "Prominence of the sulci consistent with volume loss."],
        "uncertain": [],
        "absent": ["Brain volume is normal for age."],
        "rate": 0.25},
    "Small Vessel Ischemic Disease": {
        "present": ["Periventricular white matter hypodensities, likely chronic microvascular ischemic change.",
                    "Patchy white matter hypoattenuation compatible with chronic small vessel ischemic disease.",
                    "Moderate chronic microvascular ischemic changes.",
                    "Scattered periventricular and subcortical white matter hypodensities.",
                    "Mild leukoaraiosis."],
        "uncertain": [],
        "absent": [],
        "rate": 0.25},
    "Sinus Disease": {
        "present": ["Mucosal thickening in the {side} maxillary sinus.",
                    "Air-fluid level in the sphenoid sinus.",
                    "Opacification of the {side} ethmoid air cells.",
                    "Mild paranasal sinus mucosal disease.",
                    "Findings of acute sinusitis in the {side} maxillary sinus."],
        "uncertain": [],
        "absent": ["The visualized paranasal sinuses are clear.", "The paranasal sinuses are well aerated."],
        "rate": 0.20},
}
HEAD_CT_SLOTS = {"side": ["left", "right"], "lobe": ["frontal", "parietal", "temporal", "occipital"],
                 "mm": ["3", "4", "5", "6", "8", "10", "12"]}
HEAD_CT_INDICATIONS = ["Headache.", "Fall with head strike.", "Altered mental status.",
                       "Dizziness.", "Trauma.", "Syncope.", "Follow-up.", "Confusion."]
HEAD_CT_TECHNIQUE = ["Noncontrast CT of the head.", "Axial CT images of the head without contrast.",
                     "CT head without contrast."]
HEAD_CT_NORMAL = ["No acute intracranial abnormality.", "Unremarkable noncontrast head CT.",
                  "No acute intracranial process."]
HEAD_CT_FILLER = ["The orbits are unremarkable.", "The mastoid air cells are clear.",
                  "The basal cisterns are patent.", "Vascular calcifications are noted.",
                  "The visualized soft tissues are unremarkable."]
