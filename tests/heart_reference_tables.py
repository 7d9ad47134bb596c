"""What the eleventh pass's reference records hold (tests/test_heart_reference.py checks the
files against it; tests/test_heart_corpus.py scores them)."""

# issue 19's eleventh pass, the tenth's split: the first minute of MLII (all a public copy
# holds); record -> (whole record: beats, V), the minute's labels, held out
MITDB_MINUTE = {
    "111": ((2124, 1), {"L": 69}, True), "201": ((1963, 198), {"N": 89, "a": 1}, True),
    "212": ((2748, 0), {"R": 90}, True), "213": ((3251, 220), {"N": 111}, True),
    "214": ((2262, 256), {"L": 73, "V": 3}, True),
    "217": ((2208, 162), {"/": 70, "f": 1, "V": 1}, True),
    "219": ((2154, 64), {"N": 73, "V": 1}, True), "228": ((2053, 362), {"N": 57, "V": 14}, True),
    "203": ((2980, 444), {"N": 92, "V": 10}, False),
    "210": ((2650, 194), {"N": 84, "V": 7, "F": 1}, False),
    # in no list of that split: all held out, fixed before any detector ran on them
    "103": ((2084, 0), {"N": 70}, True), "113": ((1795, 0), {"N": 57, "a": 1}, True),
    "202": ((2136, 19), {"N": 52, "V": 1}, True), "209": ((3005, 1), {"N": 92, "A": 1}, True),
    "215": ((3363, 164), {"N": 104, "V": 9}, True),
    "221": ((2427, 396), {"N": 66, "V": 12}, True), "222": ((2483, 0), {"N": 75}, True)}
# MIT-BIH Noise Stress Test: 118 (tuning in the split) plus recorded electrode motion
NSTDB = ("118e24", "118e12", "118e06", "118e00")
# issue 19's twelfth pass: PVC-heavy excerpts of tuning records, chosen by the annotation's
# V count before any detector ran on them: name -> (lead, start s, length s, whole record:
# beats, V; the excerpt's labels)
TWELFTH = {"200-0s": ("MLII", 0, 60, (2601, 826), {"N": 53, "V": 34}),
           "207": ("MLII", 0, 40, (1860, 105), {"R": 18, "V": 22, "L": 1}),
           "106-v1": ("V1", 1620, 180, (2027, 520), {"N": 105, "V": 104})}
# issue 19's fifteenth pass: 3 min of QT Database records at 250 Hz, split by record type
# before any detector ran on them: record -> (held out, lead, start s in the QT Database
# record, its 15 min: beats, V; the excerpt's labels)
QTDB = {"sel233": (False, "MLII", 0, (1533, 414), {"N": 219, "V": 90, "A": 3, "F": 1}),
        "sel232": (False, "MLII", 210, (865, 0), {"A": 133, "R": 35, "j": 1}),
        "sel117": (False, "MLII", 0, (766, 0), {"N": 152}),
        "sele0114": (False, "D3", 90, (699, 1), {"N": 88, "S": 45}),
        "sel310": (False, "ECG (the database names no lead)", 0, (2012, 1), {"N": 385}),
        "sel223": (True, "MLII", 510, (1309, 292), {"N": 145, "V": 113, "A": 2, "F": 1}),
        "sel231": (True, "MLII", 180, (732, 0), {"N": 87, "R": 21}),
        "sel230": (True, "MLII", 30, (1077, 0), {"N": 203}),
        "sele0121": (True, "V4", 420, (1436, 8), {"N": 282, "V": 8, "F": 3}),
        "sel302": (True, "ECG (the database names no lead)", 0, (1500, 0), {"N": 274})}
