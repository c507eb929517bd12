"""Shared test set-up: offline by default, one thread, and a few reports the team wrote."""
import os

os.environ.setdefault("RADLABEL_THREADS", "1")
# tests script LM answers; a shared on-disk judgment cache would replay another test's answers
os.environ.setdefault("RADLABEL_JUDGE_CACHE", "off")
from radlabel.env import apply_offline_defaults  # noqa: E402

apply_offline_defaults()

import pytest  # noqa: E402

# Reports written by the team for tests (not from any dataset).
REPORTS = {
    "r1": ("INDICATION: Cough, evaluate for pneumonia.\n"
           "FINDINGS: The heart is mildly enlarged. No pleural effusion or pneumothorax. "
           "Patchy left basilar opacity may represent atelectasis or early pneumonia.\n"
           "IMPRESSION: Cardiomegaly. Possible left lower lobe pneumonia."),
    "r2": ("FINDINGS: Heart size is normal. Lungs are clear. No focal consolidation, effusion or "
           "pneumothorax.\nIMPRESSION: No acute cardiopulmonary abnormality."),
    "r3": ("FINDINGS: Left subclavian pacemaker with leads in the right atrium and ventricle. "
           "Small right pleural effusion. Healed right rib fractures.\n"
           "IMPRESSION: Small right effusion. Pneumothorax is not seen."),
}


@pytest.fixture
def reports():
    return dict(REPORTS)
