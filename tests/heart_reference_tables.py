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
# issue 19's fifteenth pass, both batches: 3 min of QT Database records at 250 Hz, split by
# record type before any detector ran on them: record -> (held out, lead, start s in the QT
# Database record, its 15 min: beats, V; the excerpt's labels)
NO_LEAD = "ECG (the database names no lead)"
QTDB = {"sel233": (False, "MLII", 0, (1533, 414), {"N": 219, "V": 90, "A": 3, "F": 1}),
        "sel232": (False, "MLII", 210, (865, 0), {"A": 133, "R": 35, "j": 1}),
        "sel117": (False, "MLII", 0, (766, 0), {"N": 152}),
        "sele0114": (False, "D3", 90, (699, 1), {"N": 88, "S": 45}),
        "sel310": (False, NO_LEAD, 0, (2012, 1), {"N": 385}),
        "sel223": (True, "MLII", 510, (1309, 292), {"N": 145, "V": 113, "A": 2, "F": 1}),
        "sel231": (True, "MLII", 180, (732, 0), {"N": 87, "R": 21}),
        "sel230": (True, "MLII", 30, (1077, 0), {"N": 203}),
        "sele0121": (True, "V4", 420, (1436, 8), {"N": 282, "V": 8, "F": 3}),
        "sel302": (True, NO_LEAD, 0, (1500, 0), {"N": 274}),
        # the second batch, split the same way (SVDB, LTDB, NSRDB, European ST-T)
        "sel821": (False, NO_LEAD, 360, (1557, 15), {"N": 241, "S": 66, "V": 2}),
        "sel853": (False, NO_LEAD, 510, (1113, 26), {"N": 215, "S": 1, "V": 6}),
        "sel15814": (False, NO_LEAD, 510, (1036, 82), {"N": 186, "V": 21}),
        "sel16273": (False, NO_LEAD, 0, (1112, 0), {"N": 223}),
        "sele0411": (False, "CM5", 0, (1202, 59), {"N": 214, "V": 20}),
        "sele0203": (False, "CM5", 0, (1246, 0), {"N": 248, "S": 1}),
        "sel820": (True, NO_LEAD, 120, (1159, 1), {"N": 211, "S": 20, "V": 1}),
        "sel891": (True, NO_LEAD, 390, (1267, 87), {"N": 204, "S": 34, "V": 14}),
        "sel14046": (True, NO_LEAD, 510, (1260, 27), {"N": 237, "V": 10}),
        "sel16795": (True, NO_LEAD, 0, (761, 0), {"N": 157}),
        "sele0509": (True, "V1-V2", 30, (1028, 30), {"N": 193, "V": 14}),
        "sele0303": (True, "V2-V3", 0, (1045, 1), {"N": 219})}
