"""The use-case evaluation set: sentences written as users write them, each with what a person expects the offline
reasoner to read from it. ``kind`` groups cases for the cross-case relations (edge vs server, deadline vs batch)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    text: str
    kind: str = ""                                    # edge | server | deadline | batch | medical | ...
    cues: tuple[str, ...] = ()                        # cues that must fire
    not_cues: tuple[str, ...] = ()                    # cues that must not fire
    constraints: dict = field(default_factory=dict)   # field -> expected value (approx.)
    no_constraints: bool = False
    acc_at_least: float | None = None
    acc_highest: bool = False                         # accuracy is the largest weight
    not_above_base: tuple[str, ...] = ()              # metrics whose weight must not exceed the base weight
    below_base: tuple[str, ...] = ()                  # metrics dismissed: strictly below the base
    above_base: tuple[str, ...] = ()                  # metrics stressed: strictly above the base
    not_below_base: tuple[str, ...] = ()              # metrics asked for that must not end below the base
    heavier: tuple[tuple[str, str], ...] = ()         # (a, b): weight a strictly above weight b
    equal: tuple[tuple[str, str], ...] = ()           # (a, b): weights a and b equal ("equally important")
    note: str = ""                                    # a substring the notes must contain
    quoted: str = ""                                  # a phrase a justification must quote


CASES: tuple[Case, ...] = (
    # --- quoted in issue 11 -----------------------------------------------------------------------------------
    Case("Identify tumours in CT scans; inference runs on an old laptop CPU without a GPU", kind="medical",
         cues=("medical", "laptop"), not_cues=("server",), acc_highest=True, note="without a GPU"),
    Case("Sort parcels at the depot, not on a battery and not real-time", not_cues=("battery", "realtime"),
         not_above_base=("complexity",)),
    Case("Nightly classification of yesterday's shop photos", not_cues=("outdoor",), cues=("batch",), kind="batch"),
    Case("Screen chest x-rays for pneumonia; missing a case is very costly", cues=("medical", "error_cost"),
         not_cues=("cost",), acc_at_least=0.9),
    Case("Recognise traffic signs within 20 ms on the car's computer", kind="deadline",
         constraints={"max_latency_ms": 20}, quoted="within 20 ms"),
    Case("Classify leaves on a phone with 512 MB of RAM", kind="edge", cues=("mobile",),
         constraints={"max_size_mb": 512}),
    Case("Count bees at the hive entrance on a camera with a 2 W power budget", cues=("battery",), note="2 W"),
    Case("Check 120 items per second on the packing line", kind="deadline",
         constraints={"max_latency_ms": 1000 / 120}),
    Case("Flag damaged products in a mobile app; the APK must stay small", kind="edge", cues=("mobile", "app_size")),
    Case("Classify satellite tiles in the cloud; compute is not a concern", below_base=("complexity",),
         note=""),
    Case("Pick the most accurate model for classifying receipts on a laptop", cues=("accuracy_first",),
         acc_at_least=0.85, acc_highest=True),
    Case("Pick the most accurate model for sorting photos on a laptop", cues=("accuracy_first", "laptop"),
         acc_at_least=0.85, acc_highest=True),                                  # issue 15 item 4
    # --- edge ---------------------------------------------------------------------------------------------------
    Case("Detect people from a drone with a small onboard computer", kind="edge", cues=("drone",)),
    Case("Recognise hand gestures on an ESP32 microcontroller", kind="edge", cues=("microcontroller",)),
    Case("Classify bird songs spectrogram images on a Raspberry Pi in the garden", kind="edge",
         cues=("microcontroller",)),
    Case("Spot weeds from a tractor camera on a Jetson board", kind="edge", cues=("microcontroller",)),
    Case("Recognise faces at the door with a battery-powered smart doorbell", kind="edge",
         cues=("microcontroller", "battery")),
    Case("Read meter dials on a tinyML sensor node with 256 KB of flash", kind="edge",
         constraints={"max_size_mb": 0.25}),
    Case("Identify mushrooms offline in an Android app", kind="edge", cues=("mobile",)),
    # --- server / batch -----------------------------------------------------------------------------------------
    Case("Classify product photos on our GPU server", kind="server", cues=("server",)),
    Case("Label the historical archive of museum images on a workstation overnight", kind="server",
         cues=("server", "batch")),
    Case("Run a nightly batch job on the data center cluster to tag millions of images", kind="batch",
         cues=("server", "batch")),
    Case("Backfill labels for ten years of satellite images in a batch job", kind="batch", cues=("batch",)),
    # --- deadline -----------------------------------------------------------------------------------------------
    Case("Track players in live video at 30 fps", kind="deadline", constraints={"max_latency_ms": 1000 / 30}),
    Case("Answer within 50 milliseconds per image for the checkout kiosk", kind="deadline",
         constraints={"max_latency_ms": 50}),
    Case("Sort recyclables on a conveyor in real time", kind="deadline", cues=("realtime",)),
    Case("Grade 600 apples per minute on the sorting machine", kind="deadline",
         constraints={"max_latency_ms": 100}),
    Case("Respond in under 0.5 seconds when a customer scans a shelf", kind="deadline",
         constraints={"max_latency_ms": 500}),
    # --- negation / dismissal -----------------------------------------------------------------------------------
    Case("Classify scans of old letters; no GPU is available and it runs on a desktop", not_cues=("server",),
         cues=("laptop",)),
    Case("Detect cracks in bridge photos; speed doesn't matter, accuracy does", below_base=("complexity",),
         acc_highest=True),
    Case("Model size is not a concern: we classify plankton images on a cluster", below_base=("size",)),
    Case("We don't care about latency, just recognise the logos in marketing images", below_base=("complexity",)),
    Case("Inspect welds on the factory line without any cloud connection", not_cues=("cloud",), cues=("safety",)),
    Case("Classify coins, never on a phone, always on the shop's PC", not_cues=("mobile",), cues=("laptop",)),
    Case("Categorise wildlife camera images; there is no latency requirement", below_base=("complexity",)),
    # --- cost of an error vs cost of compute -------------------------------------------------------------------
    Case("Detect counterfeit banknotes; a wrong answer is expensive for the bank", cues=("error_cost",),
         not_cues=("cost",), acc_at_least=0.8),
    Case("Tag millions of user photos where the cloud bill per image is costly", cues=("cost",),
         not_cues=("error_cost",)),
    Case("Classify documents cheaply at scale", cues=("cost",)),
    # --- training vs deployment --------------------------------------------------------------------------------
    Case("Trained on a GPU server, the model then runs on a phone to recognise plants", kind="edge",
         cues=("mobile",), not_cues=("server",)),
    Case("We fine-tune on a cluster but deploy on a Raspberry Pi to count cars", kind="edge",
         cues=("microcontroller",), not_cues=("server",)),
    # --- numeric constraints of other kinds ---------------------------------------------------------------------
    Case("Recognise digits with fewer than 1 million parameters", constraints={"max_params": 1e6}),
    Case("Classify fruit with at most 300 MMACs per image on a kiosk", constraints={"max_macs": 3e8}),
    Case("Find defects on PCBs; the model file must be no larger than 20 MB", cues=("safety",),
         constraints={"max_size_mb": 20}),
    Case("Classify X-ray images; the hospital PC has 2 GB of RAM", kind="medical", cues=("medical",),
         constraints={"max_size_mb": 2048}, acc_highest=True),
    Case("Our dataset of 500 MB of photos is of shelves in shops; classify the products", no_constraints=True),
    # --- medical / safety / industrial --------------------------------------------------------------------------
    Case("Diagnose skin lesions from dermatology photos in a clinic", kind="medical", cues=("medical",),
         acc_highest=True, acc_at_least=0.85),
    Case("Detect pedestrians for automatic emergency braking", cues=("safety",), acc_highest=True),
    Case("Quality control of bottle caps on an assembly line", cues=("safety",)),
    Case("Monitor a parking lot at night from a security camera", cues=("safety", "outdoor")),
    # --- unclear ------------------------------------------------------------------------------------------------
    Case("Classify pictures of cats and dogs", note="no deployment cue"),
    Case("Recognise ships from a drone and on the GPU server", kind="", cues=("drone",), note="where the model runs"),
    Case("Classify insects, keeping cost low", cues=("cost",), note="cost of compute"),
    # --- a second batch, first tried unseen (9 of 15 read as expected), then added to the knowledge -------------
    Case("We need a model for a smartwatch that detects falls from a tiny camera", kind="edge",
         cues=("microcontroller",)),
    Case("Count pills in a pharmacy; mistakes are dangerous", kind="medical", cues=("error_cost",), acc_highest=True),
    Case("Check solder joints on circuit boards; a missed defect means a product recall", cues=("error_cost",),
         acc_at_least=0.9),
    Case("Read license plates at a parking gate, response under half a second", kind="deadline",
         constraints={"max_latency_ms": 500}),
    Case("Moderate uploaded images in our web service, 500 requests per second at peak",
         constraints={"max_latency_ms": 2}, note="one model instance"),
    Case("Spot shoplifting on CCTV in a small shop with an old desktop computer", cues=("safety", "laptop")),
    Case("Recognise fish on a trawler's deck camera; the boat has a small PC and spotty power",
         cues=("battery", "laptop")),
    Case("Dangerous goods labels must be recognised on a conveyor", not_cues=("error_cost", "cost")),
)

NON_ENGLISH = (
    "Détecter les défauts sur les images de la chaîne de production avec un modèle rapide",
    "Erkennen von Verkehrszeichen mit einer Kamera im Auto, ohne GPU",
    "Clasificar las imágenes de frutas en un teléfono móvil con poca memoria",
    "在手机上识别植物的图片",
)
