"""A large synthetic ontology (e.g. 1,000 classes) for scaling tests of candidate retrieval.

Real many-class vocabularies (RadLex, MeSH subtrees) mostly combine an anatomical site with a
process ("left upper lobe bronchiectasis", "thoracic aortic calcification"). This builds such
site x process classes with a generated definition and a couple of synonyms, on top of a base
ontology whose classes stay first and unchanged, so scores on the base classes stay comparable.
"""
from __future__ import annotations

import random

from radlabel.ontology import ClassDef, Ontology

SITES = [
    ("right upper lobe", "the right upper lobe of the lung"), ("right middle lobe", "the right middle lobe"),
    ("right lower lobe", "the right lower lobe"), ("left upper lobe", "the left upper lobe"),
    ("lingula", "the lingular segment of the left upper lobe"), ("left lower lobe", "the left lower lobe"),
    ("lung apex", "the apical portion of a lung"), ("lung base", "the basal portion of a lung"),
    ("perihilar region", "the lung around the hila"), ("retrocardiac region", "the lung behind the heart"),
    ("pleura", "the membrane lining the lungs and chest wall"), ("fissure", "an interlobar fissure"),
    ("trachea", "the windpipe"), ("main bronchus", "a main-stem bronchus"), ("carina", "the tracheal bifurcation"),
    ("thoracic aorta", "the aorta within the chest"), ("aortic arch", "the arch of the aorta"),
    ("pulmonary artery", "the main or a central pulmonary artery"), ("superior vena cava", "the superior vena cava"),
    ("left ventricle", "the left ventricle of the heart"), ("right atrium", "the right atrium"),
    ("pericardium", "the sac around the heart"), ("anterior mediastinum", "the front compartment of the mediastinum"),
    ("middle mediastinum", "the middle mediastinal compartment"), ("posterior mediastinum", "the back mediastinal compartment"),
    ("hilum", "the root of a lung"), ("thyroid", "the thyroid gland at the thoracic inlet"),
    ("esophagus", "the gullet"), ("hemidiaphragm", "one half of the diaphragm"),
    ("thoracic spine", "the thoracic vertebral column"), ("cervical spine", "the lower cervical vertebrae"),
    ("sternum", "the breastbone"), ("clavicle", "a collarbone"), ("scapula", "a shoulder blade"),
    ("anterior rib", "the front part of a rib"), ("posterior rib", "the back part of a rib"),
    ("shoulder joint", "the glenohumeral joint"), ("acromioclavicular joint", "the joint of clavicle and acromion"),
    ("chest wall", "the soft tissues of the chest wall"), ("axilla", "the armpit"), ("breast", "the breast tissue"),
    ("upper abdomen", "the upper abdomen seen below the diaphragm"), ("stomach", "the stomach"),
    ("liver", "the upper liver"), ("spleen", "the spleen"), ("neck soft tissues", "the soft tissues of the lower neck"),
    ("coronary arteries", "the arteries of the heart"), ("mitral valve", "the mitral valve"),
    ("aortic valve", "the aortic valve"), ("azygos vein", "the azygos vein"),
]
PROCESSES = [
    ("calcification", "calcium deposits", ["calcified"]), ("mass", "a space-occupying lesion", ["tumor"]),
    ("nodule", "a small rounded focal lesion", ["nodular lesion"]), ("enlargement", "abnormally increased size", ["enlarged"]),
    ("thickening", "abnormal thickness of the wall or lining", ["thickened"]),
    ("displacement", "being pushed out of the usual position", ["displaced"]),
    ("narrowing", "a reduced calibre or lumen", ["stenosis"]), ("dilation", "abnormal widening", ["dilated", "ectasia"]),
    ("fracture", "a break in bone or cartilage", ["broken"]), ("degeneration", "wear-related degenerative change", ["degenerative change"]),
    ("cyst", "a fluid- or air-filled sac", ["cystic lesion"]), ("abscess", "a walled collection of pus", ["purulent collection"]),
    ("hemorrhage", "bleeding into the tissue", ["bleeding"]), ("infarction", "tissue death from lost blood supply", ["infarct"]),
    ("inflammation", "an inflammatory process", ["inflamed"]), ("scarring", "fibrous scar tissue", ["scar"]),
    ("lucency", "an area darker than expected", ["radiolucent area"]), ("opacity", "an area whiter than expected", ["density"]),
    ("surgical change", "changes left by an operation", ["post-surgical change"]),
    ("foreign material", "material that does not belong there", ["retained foreign object"]),
]


def synthetic_ontology(n_classes: int = 1000, base: Ontology | None = None, seed: int = 0) -> Ontology:
    """``base`` classes (default: the chest X-ray set) plus site x process classes, n in total."""
    base = base or Ontology.load()
    rng = random.Random(seed)
    combos = [(s, p) for s in SITES for p in PROCESSES]
    rng.shuffle(combos)
    extra = n_classes - len(base)
    if extra > len(combos):
        raise ValueError(f"at most {len(combos) + len(base)} classes can be generated")
    taken = {Ontology.norm(c.name) for c in base.classes}
    classes = list(base.classes)
    for (site, site_def), (proc, proc_def, proc_syn) in combos:
        if len(classes) >= n_classes:
            break
        name = f"{site.title()} {proc.title()}"
        if Ontology.norm(name) in taken:
            continue
        taken.add(Ontology.norm(name))
        synonyms = [f"{proc} of the {site}", f"{site} {proc}"] + [f"{s} {site}" for s in proc_syn[:1]]
        classes.append(ClassDef(name=name, definition=f"{proc_def.capitalize()} involving {site_def}.",
                                synonyms=synonyms, codes=[f"SYN:{len(classes):04d}"]))
    return Ontology(classes, source=f"synthetic:{n_classes}:{seed}")
