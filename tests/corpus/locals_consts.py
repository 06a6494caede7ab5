"""LOAD_FAST / STORE_FAST / DELETE_FAST, LOAD_CONST, POP_TOP, COPY / SWAP, NOP, RETURN_VALUE."""


def identity(x):
    return x


def consts():
    a = 1
    b = 2.5
    c = "s"
    d = None
    e = (1, 2, (3, "x"))
    f = b"by"
    g = 10**30
    h = frozenset({1})
    i = ...
    j = True
    k = -0.0
    return a, b, c, d, e, f, g, h, i, j, k


def swap_locals(a, b):
    a, b = b, a          # SWAP
    a, b, c = b, c_default(), a
    return a, b, c


def c_default():
    return "c"


def rotate3(a, b, c):
    a, b, c = c, a, b
    return [a, b, c]


def many_locals(n):
    v0 = n; v1 = v0 + 1; v2 = v1 + 1; v3 = v2 + 1; v4 = v3 + 1
    v5 = v4 + 1; v6 = v5 + 1; v7 = v6 + 1; v8 = v7 + 1; v9 = v8 + 1
    v0, v9 = v9, v0
    return v0 + v1 * 2 + v2 * 3 + v3 * 4 + v4 * 5 + v5 * 6 + v6 * 7 + v7 * 8 + v8 * 9 + v9


def pop_top(x):
    x + 1          # POP_TOP of a computed value
    len([x])
    None
    return x


def delete_then_use(flag):
    x = flag
    del x
    if flag:
        return x       # UnboundLocalError propagates
    return "ok"


def delete_then_use_caught(flag):
    x = [flag]
    del x
    try:
        return x
    except UnboundLocalError as e:
        return "caught", str(e)


def delete_twice():
    x = 1
    del x
    del x          # UnboundLocalError on DELETE_FAST


def delete_rebind(n):
    out = []
    for i in range(n):
        y = i * 2
        out.append(y)
        del y
        y = -i
        out.append(y)
    return out


def maybe_unbound(flag):
    if flag:
        z = "bound"
    return z


def param_reassign(a, b=5, *args, c=7, **kw):
    a = a + b
    args = args + (a,)
    kw = dict(kw, c=c)
    return a, args, sorted(kw.items())


def nop_pass(x):
    pass
    if x:
        pass
    else:
        pass
    return x


def chained_assign(x):
    a = b = c = x    # COPY
    a += 1
    return a, b, c


def long_function(x):
    # > 256 constants and long jumps: EXTENDED_ARG
    t = 0
    t += 1000; t += 1001; t += 1002; t += 1003; t += 1004; t += 1005; t += 1006; t += 1007
    t += 1008; t += 1009; t += 1010; t += 1011; t += 1012; t += 1013; t += 1014; t += 1015
    t += 1016; t += 1017; t += 1018; t += 1019; t += 1020; t += 1021; t += 1022; t += 1023
    t += 1024; t += 1025; t += 1026; t += 1027; t += 1028; t += 1029; t += 1030; t += 1031
    t += 1032; t += 1033; t += 1034; t += 1035; t += 1036; t += 1037; t += 1038; t += 1039
    t += 1040; t += 1041; t += 1042; t += 1043; t += 1044; t += 1045; t += 1046; t += 1047
    t += 1048; t += 1049; t += 1050; t += 1051; t += 1052; t += 1053; t += 1054; t += 1055
    t += 1056; t += 1057; t += 1058; t += 1059; t += 1060; t += 1061; t += 1062; t += 1063
    t += 1064; t += 1065; t += 1066; t += 1067; t += 1068; t += 1069; t += 1070; t += 1071
    t += 1072; t += 1073; t += 1074; t += 1075; t += 1076; t += 1077; t += 1078; t += 1079
    t += 1080; t += 1081; t += 1082; t += 1083; t += 1084; t += 1085; t += 1086; t += 1087
    t += 1088; t += 1089; t += 1090; t += 1091; t += 1092; t += 1093; t += 1094; t += 1095
    t += 1096; t += 1097; t += 1098; t += 1099; t += 1100; t += 1101; t += 1102; t += 1103
    t += 1104; t += 1105; t += 1106; t += 1107; t += 1108; t += 1109; t += 1110; t += 1111
    t += 1112; t += 1113; t += 1114; t += 1115; t += 1116; t += 1117; t += 1118; t += 1119
    t += 1120; t += 1121; t += 1122; t += 1123; t += 1124; t += 1125; t += 1126; t += 1127
    t += 1128; t += 1129; t += 1130; t += 1131; t += 1132; t += 1133; t += 1134; t += 1135
    t += 1136; t += 1137; t += 1138; t += 1139; t += 1140; t += 1141; t += 1142; t += 1143
    t += 1144; t += 1145; t += 1146; t += 1147; t += 1148; t += 1149; t += 1150; t += 1151
    t += 1152; t += 1153; t += 1154; t += 1155; t += 1156; t += 1157; t += 1158; t += 1159
    t += 1160; t += 1161; t += 1162; t += 1163; t += 1164; t += 1165; t += 1166; t += 1167
    t += 1168; t += 1169; t += 1170; t += 1171; t += 1172; t += 1173; t += 1174; t += 1175
    t += 1176; t += 1177; t += 1178; t += 1179; t += 1180; t += 1181; t += 1182; t += 1183
    t += 1184; t += 1185; t += 1186; t += 1187; t += 1188; t += 1189; t += 1190; t += 1191
    t += 1192; t += 1193; t += 1194; t += 1195; t += 1196; t += 1197; t += 1198; t += 1199
    t += 1200; t += 1201; t += 1202; t += 1203; t += 1204; t += 1205; t += 1206; t += 1207
    t += 1208; t += 1209; t += 1210; t += 1211; t += 1212; t += 1213; t += 1214; t += 1215
    t += 1216; t += 1217; t += 1218; t += 1219; t += 1220; t += 1221; t += 1222; t += 1223
    t += 1224; t += 1225; t += 1226; t += 1227; t += 1228; t += 1229; t += 1230; t += 1231
    t += 1232; t += 1233; t += 1234; t += 1235; t += 1236; t += 1237; t += 1238; t += 1239
    t += 1240; t += 1241; t += 1242; t += 1243; t += 1244; t += 1245; t += 1246; t += 1247
    t += 1248; t += 1249; t += 1250; t += 1251; t += 1252; t += 1253; t += 1254; t += 1255
    t += 1256; t += 1257; t += 1258; t += 1259; t += 1260; t += 1261; t += 1262; t += 1263
    t += 1264; t += 1265; t += 1266; t += 1267; t += 1268; t += 1269; t += 1270; t += 1271
    if x:
        return t + x // 0
    return t


CASES = [
    (identity, [(1,), ("a",), (None,), ([1, 2],), (2**100,), (float("nan"),)]),
    (consts, [()]),
    (swap_locals, [(1, 2), ("a", None)]),
    (rotate3, [(1, 2, 3)]),
    (many_locals, [(0,), (10**20,)]),
    (pop_top, [(1,), ("s",)]),
    (delete_then_use, [(0,), (1,)]),
    (delete_then_use_caught, [(1,)]),
    (delete_twice, [()]),
    (delete_rebind, [(0,), (5,)]),
    (maybe_unbound, [(1,), (0,)]),
    (param_reassign, [(1,), (1, 2, 3, 4), (1, 2, 3, 4, 5)]),
    (nop_pass, [(0,), (1,)]),
    (chained_assign, [(1,), (2.5,)]),
    (long_function, [(0,), (1,)]),
]
