//! Built-in PostgreSQL type OIDs.
//!
//! Every value below was checked against `pg_type` of a PostgreSQL 15 server
//! (`select oid, typname, typtype, typcategory, typelem, typarray, typdelim from pg_type
//! where oid < 10000`). Built-in OIDs are fixed across major versions; newer servers only add
//! types, which then come from the catalog like extension types do.

/// `bool`
pub const BOOL: u32 = 16;
/// `bytea`
pub const BYTEA: u32 = 17;
/// `char`
pub const CHAR: u32 = 18;
/// `name`
pub const NAME: u32 = 19;
/// `int8`
pub const INT8: u32 = 20;
/// `int2`
pub const INT2: u32 = 21;
/// `int2vector`
pub const INT2VECTOR: u32 = 22;
/// `int4`
pub const INT4: u32 = 23;
/// `regproc`
pub const REGPROC: u32 = 24;
/// `text`
pub const TEXT: u32 = 25;
/// `oid`
pub const OID: u32 = 26;
/// `tid`
pub const TID: u32 = 27;
/// `xid`
pub const XID: u32 = 28;
/// `cid`
pub const CID: u32 = 29;
/// `oidvector`
pub const OIDVECTOR: u32 = 30;
/// `json`
pub const JSON: u32 = 114;
/// `xml`
pub const XML: u32 = 142;
/// `_xml`
pub const XML_ARRAY: u32 = 143;
/// `pg_node_tree`
pub const PG_NODE_TREE: u32 = 194;
/// `_json`
pub const JSON_ARRAY: u32 = 199;
/// `_xid8`
pub const XID8_ARRAY: u32 = 271;
/// `point`
pub const POINT: u32 = 600;
/// `lseg`
pub const LSEG: u32 = 601;
/// `path`
pub const PATH: u32 = 602;
/// `box`
pub const BOX: u32 = 603;
/// `polygon`
pub const POLYGON: u32 = 604;
/// `line`
pub const LINE: u32 = 628;
/// `_line`
pub const LINE_ARRAY: u32 = 629;
/// `cidr`
pub const CIDR: u32 = 650;
/// `_cidr`
pub const CIDR_ARRAY: u32 = 651;
/// `float4`
pub const FLOAT4: u32 = 700;
/// `float8`
pub const FLOAT8: u32 = 701;
/// `circle`
pub const CIRCLE: u32 = 718;
/// `_circle`
pub const CIRCLE_ARRAY: u32 = 719;
/// `macaddr8`
pub const MACADDR8: u32 = 774;
/// `_macaddr8`
pub const MACADDR8_ARRAY: u32 = 775;
/// `money`
pub const MONEY: u32 = 790;
/// `_money`
pub const MONEY_ARRAY: u32 = 791;
/// `macaddr`
pub const MACADDR: u32 = 829;
/// `inet`
pub const INET: u32 = 869;
/// `_bool`
pub const BOOL_ARRAY: u32 = 1000;
/// `_bytea`
pub const BYTEA_ARRAY: u32 = 1001;
/// `_char`
pub const CHAR_ARRAY: u32 = 1002;
/// `_name`
pub const NAME_ARRAY: u32 = 1003;
/// `_int2`
pub const INT2_ARRAY: u32 = 1005;
/// `_int2vector`
pub const INT2VECTOR_ARRAY: u32 = 1006;
/// `_int4`
pub const INT4_ARRAY: u32 = 1007;
/// `_regproc`
pub const REGPROC_ARRAY: u32 = 1008;
/// `_text`
pub const TEXT_ARRAY: u32 = 1009;
/// `_tid`
pub const TID_ARRAY: u32 = 1010;
/// `_xid`
pub const XID_ARRAY: u32 = 1011;
/// `_cid`
pub const CID_ARRAY: u32 = 1012;
/// `_oidvector`
pub const OIDVECTOR_ARRAY: u32 = 1013;
/// `_bpchar`
pub const BPCHAR_ARRAY: u32 = 1014;
/// `_varchar`
pub const VARCHAR_ARRAY: u32 = 1015;
/// `_int8`
pub const INT8_ARRAY: u32 = 1016;
/// `_point`
pub const POINT_ARRAY: u32 = 1017;
/// `_lseg`
pub const LSEG_ARRAY: u32 = 1018;
/// `_path`
pub const PATH_ARRAY: u32 = 1019;
/// `_box`
pub const BOX_ARRAY: u32 = 1020;
/// `_float4`
pub const FLOAT4_ARRAY: u32 = 1021;
/// `_float8`
pub const FLOAT8_ARRAY: u32 = 1022;
/// `_polygon`
pub const POLYGON_ARRAY: u32 = 1027;
/// `_oid`
pub const OID_ARRAY: u32 = 1028;
/// `aclitem`
pub const ACLITEM: u32 = 1033;
/// `_aclitem`
pub const ACLITEM_ARRAY: u32 = 1034;
/// `_macaddr`
pub const MACADDR_ARRAY: u32 = 1040;
/// `_inet`
pub const INET_ARRAY: u32 = 1041;
/// `bpchar`
pub const BPCHAR: u32 = 1042;
/// `varchar`
pub const VARCHAR: u32 = 1043;
/// `date`
pub const DATE: u32 = 1082;
/// `time`
pub const TIME: u32 = 1083;
/// `timestamp`
pub const TIMESTAMP: u32 = 1114;
/// `_timestamp`
pub const TIMESTAMP_ARRAY: u32 = 1115;
/// `_date`
pub const DATE_ARRAY: u32 = 1182;
/// `_time`
pub const TIME_ARRAY: u32 = 1183;
/// `timestamptz`
pub const TIMESTAMPTZ: u32 = 1184;
/// `_timestamptz`
pub const TIMESTAMPTZ_ARRAY: u32 = 1185;
/// `interval`
pub const INTERVAL: u32 = 1186;
/// `_interval`
pub const INTERVAL_ARRAY: u32 = 1187;
/// `_numeric`
pub const NUMERIC_ARRAY: u32 = 1231;
/// `timetz`
pub const TIMETZ: u32 = 1266;
/// `_timetz`
pub const TIMETZ_ARRAY: u32 = 1270;
/// `bit`
pub const BIT: u32 = 1560;
/// `_bit`
pub const BIT_ARRAY: u32 = 1561;
/// `varbit`
pub const VARBIT: u32 = 1562;
/// `_varbit`
pub const VARBIT_ARRAY: u32 = 1563;
/// `numeric`
pub const NUMERIC: u32 = 1700;
/// `refcursor`
pub const REFCURSOR: u32 = 1790;
/// `_refcursor`
pub const REFCURSOR_ARRAY: u32 = 2201;
/// `regprocedure`
pub const REGPROCEDURE: u32 = 2202;
/// `regoper`
pub const REGOPER: u32 = 2203;
/// `regoperator`
pub const REGOPERATOR: u32 = 2204;
/// `regclass`
pub const REGCLASS: u32 = 2205;
/// `regtype`
pub const REGTYPE: u32 = 2206;
/// `_regprocedure`
pub const REGPROCEDURE_ARRAY: u32 = 2207;
/// `_regoper`
pub const REGOPER_ARRAY: u32 = 2208;
/// `_regoperator`
pub const REGOPERATOR_ARRAY: u32 = 2209;
/// `_regclass`
pub const REGCLASS_ARRAY: u32 = 2210;
/// `_regtype`
pub const REGTYPE_ARRAY: u32 = 2211;
/// `_txid_snapshot`
pub const TXID_SNAPSHOT_ARRAY: u32 = 2949;
/// `uuid`
pub const UUID: u32 = 2950;
/// `_uuid`
pub const UUID_ARRAY: u32 = 2951;
/// `txid_snapshot`
pub const TXID_SNAPSHOT: u32 = 2970;
/// `pg_lsn`
pub const PG_LSN: u32 = 3220;
/// `_pg_lsn`
pub const PG_LSN_ARRAY: u32 = 3221;
/// `pg_ndistinct`
pub const PG_NDISTINCT: u32 = 3361;
/// `pg_dependencies`
pub const PG_DEPENDENCIES: u32 = 3402;
/// `tsvector`
pub const TSVECTOR: u32 = 3614;
/// `tsquery`
pub const TSQUERY: u32 = 3615;
/// `gtsvector`
pub const GTSVECTOR: u32 = 3642;
/// `_tsvector`
pub const TSVECTOR_ARRAY: u32 = 3643;
/// `_gtsvector`
pub const GTSVECTOR_ARRAY: u32 = 3644;
/// `_tsquery`
pub const TSQUERY_ARRAY: u32 = 3645;
/// `regconfig`
pub const REGCONFIG: u32 = 3734;
/// `_regconfig`
pub const REGCONFIG_ARRAY: u32 = 3735;
/// `regdictionary`
pub const REGDICTIONARY: u32 = 3769;
/// `_regdictionary`
pub const REGDICTIONARY_ARRAY: u32 = 3770;
/// `jsonb`
pub const JSONB: u32 = 3802;
/// `_jsonb`
pub const JSONB_ARRAY: u32 = 3807;
/// `int4range`
pub const INT4RANGE: u32 = 3904;
/// `_int4range`
pub const INT4RANGE_ARRAY: u32 = 3905;
/// `numrange`
pub const NUMRANGE: u32 = 3906;
/// `_numrange`
pub const NUMRANGE_ARRAY: u32 = 3907;
/// `tsrange`
pub const TSRANGE: u32 = 3908;
/// `_tsrange`
pub const TSRANGE_ARRAY: u32 = 3909;
/// `tstzrange`
pub const TSTZRANGE: u32 = 3910;
/// `_tstzrange`
pub const TSTZRANGE_ARRAY: u32 = 3911;
/// `daterange`
pub const DATERANGE: u32 = 3912;
/// `_daterange`
pub const DATERANGE_ARRAY: u32 = 3913;
/// `int8range`
pub const INT8RANGE: u32 = 3926;
/// `_int8range`
pub const INT8RANGE_ARRAY: u32 = 3927;
/// `jsonpath`
pub const JSONPATH: u32 = 4072;
/// `_jsonpath`
pub const JSONPATH_ARRAY: u32 = 4073;
/// `regnamespace`
pub const REGNAMESPACE: u32 = 4089;
/// `_regnamespace`
pub const REGNAMESPACE_ARRAY: u32 = 4090;
/// `regrole`
pub const REGROLE: u32 = 4096;
/// `_regrole`
pub const REGROLE_ARRAY: u32 = 4097;
/// `regcollation`
pub const REGCOLLATION: u32 = 4191;
/// `_regcollation`
pub const REGCOLLATION_ARRAY: u32 = 4192;
/// `int4multirange`
pub const INT4MULTIRANGE: u32 = 4451;
/// `nummultirange`
pub const NUMMULTIRANGE: u32 = 4532;
/// `tsmultirange`
pub const TSMULTIRANGE: u32 = 4533;
/// `tstzmultirange`
pub const TSTZMULTIRANGE: u32 = 4534;
/// `datemultirange`
pub const DATEMULTIRANGE: u32 = 4535;
/// `int8multirange`
pub const INT8MULTIRANGE: u32 = 4536;
/// `pg_brin_bloom_summary`
pub const PG_BRIN_BLOOM_SUMMARY: u32 = 4600;
/// `pg_brin_minmax_multi_summary`
pub const PG_BRIN_MINMAX_MULTI_SUMMARY: u32 = 4601;
/// `pg_mcv_list`
pub const PG_MCV_LIST: u32 = 5017;
/// `pg_snapshot`
pub const PG_SNAPSHOT: u32 = 5038;
/// `_pg_snapshot`
pub const PG_SNAPSHOT_ARRAY: u32 = 5039;
/// `xid8`
pub const XID8: u32 = 5069;
/// `_int4multirange`
pub const INT4MULTIRANGE_ARRAY: u32 = 6150;
/// `_nummultirange`
pub const NUMMULTIRANGE_ARRAY: u32 = 6151;
/// `_tsmultirange`
pub const TSMULTIRANGE_ARRAY: u32 = 6152;
/// `_tstzmultirange`
pub const TSTZMULTIRANGE_ARRAY: u32 = 6153;
/// `_datemultirange`
pub const DATEMULTIRANGE_ARRAY: u32 = 6155;
/// `_int8multirange`
pub const INT8MULTIRANGE_ARRAY: u32 = 6157;

/// One row of the built-in part of `pg_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinType {
    /// `pg_type.oid`
    pub oid: u32,
    /// `pg_type.typname`
    pub name: &'static str,
    /// `pg_type.typtype`: `b` base, `r` range, `m` multirange
    pub typtype: u8,
    /// `pg_type.typcategory`: `A` marks arrays
    pub category: u8,
    /// `pg_type.typelem` (0 when none)
    pub element: u32,
    /// `pg_type.typarray` (0 when none)
    pub array: u32,
    /// `pg_type.typdelim`, the separator between array elements of this type
    pub delimiter: u8,
}

/// Every built-in, non-pseudo, non-composite type of PostgreSQL 15 and its array type, in OID
/// order (the arrays of catalog row types and of `cstring` are left out).
pub const BUILTIN_TYPES: &[BuiltinType] = &[
    t(16, "bool", b'b', b'B', 0, 1000, b','),
    t(17, "bytea", b'b', b'U', 0, 1001, b','),
    t(18, "char", b'b', b'Z', 0, 1002, b','),
    t(19, "name", b'b', b'S', 18, 1003, b','),
    t(20, "int8", b'b', b'N', 0, 1016, b','),
    t(21, "int2", b'b', b'N', 0, 1005, b','),
    t(22, "int2vector", b'b', b'A', 21, 1006, b','),
    t(23, "int4", b'b', b'N', 0, 1007, b','),
    t(24, "regproc", b'b', b'N', 0, 1008, b','),
    t(25, "text", b'b', b'S', 0, 1009, b','),
    t(26, "oid", b'b', b'N', 0, 1028, b','),
    t(27, "tid", b'b', b'U', 0, 1010, b','),
    t(28, "xid", b'b', b'U', 0, 1011, b','),
    t(29, "cid", b'b', b'U', 0, 1012, b','),
    t(30, "oidvector", b'b', b'A', 26, 1013, b','),
    t(114, "json", b'b', b'U', 0, 199, b','),
    t(142, "xml", b'b', b'U', 0, 143, b','),
    t(143, "_xml", b'b', b'A', 142, 0, b','),
    t(194, "pg_node_tree", b'b', b'Z', 0, 0, b','),
    t(199, "_json", b'b', b'A', 114, 0, b','),
    t(271, "_xid8", b'b', b'A', 5069, 0, b','),
    t(600, "point", b'b', b'G', 701, 1017, b','),
    t(601, "lseg", b'b', b'G', 600, 1018, b','),
    t(602, "path", b'b', b'G', 0, 1019, b','),
    t(603, "box", b'b', b'G', 600, 1020, b';'),
    t(604, "polygon", b'b', b'G', 0, 1027, b','),
    t(628, "line", b'b', b'G', 701, 629, b','),
    t(629, "_line", b'b', b'A', 628, 0, b','),
    t(650, "cidr", b'b', b'I', 0, 651, b','),
    t(651, "_cidr", b'b', b'A', 650, 0, b','),
    t(700, "float4", b'b', b'N', 0, 1021, b','),
    t(701, "float8", b'b', b'N', 0, 1022, b','),
    t(718, "circle", b'b', b'G', 0, 719, b','),
    t(719, "_circle", b'b', b'A', 718, 0, b','),
    t(774, "macaddr8", b'b', b'U', 0, 775, b','),
    t(775, "_macaddr8", b'b', b'A', 774, 0, b','),
    t(790, "money", b'b', b'N', 0, 791, b','),
    t(791, "_money", b'b', b'A', 790, 0, b','),
    t(829, "macaddr", b'b', b'U', 0, 1040, b','),
    t(869, "inet", b'b', b'I', 0, 1041, b','),
    t(1000, "_bool", b'b', b'A', 16, 0, b','),
    t(1001, "_bytea", b'b', b'A', 17, 0, b','),
    t(1002, "_char", b'b', b'A', 18, 0, b','),
    t(1003, "_name", b'b', b'A', 19, 0, b','),
    t(1005, "_int2", b'b', b'A', 21, 0, b','),
    t(1006, "_int2vector", b'b', b'A', 22, 0, b','),
    t(1007, "_int4", b'b', b'A', 23, 0, b','),
    t(1008, "_regproc", b'b', b'A', 24, 0, b','),
    t(1009, "_text", b'b', b'A', 25, 0, b','),
    t(1010, "_tid", b'b', b'A', 27, 0, b','),
    t(1011, "_xid", b'b', b'A', 28, 0, b','),
    t(1012, "_cid", b'b', b'A', 29, 0, b','),
    t(1013, "_oidvector", b'b', b'A', 30, 0, b','),
    t(1014, "_bpchar", b'b', b'A', 1042, 0, b','),
    t(1015, "_varchar", b'b', b'A', 1043, 0, b','),
    t(1016, "_int8", b'b', b'A', 20, 0, b','),
    t(1017, "_point", b'b', b'A', 600, 0, b','),
    t(1018, "_lseg", b'b', b'A', 601, 0, b','),
    t(1019, "_path", b'b', b'A', 602, 0, b','),
    t(1020, "_box", b'b', b'A', 603, 0, b';'),
    t(1021, "_float4", b'b', b'A', 700, 0, b','),
    t(1022, "_float8", b'b', b'A', 701, 0, b','),
    t(1027, "_polygon", b'b', b'A', 604, 0, b','),
    t(1028, "_oid", b'b', b'A', 26, 0, b','),
    t(1033, "aclitem", b'b', b'U', 0, 1034, b','),
    t(1034, "_aclitem", b'b', b'A', 1033, 0, b','),
    t(1040, "_macaddr", b'b', b'A', 829, 0, b','),
    t(1041, "_inet", b'b', b'A', 869, 0, b','),
    t(1042, "bpchar", b'b', b'S', 0, 1014, b','),
    t(1043, "varchar", b'b', b'S', 0, 1015, b','),
    t(1082, "date", b'b', b'D', 0, 1182, b','),
    t(1083, "time", b'b', b'D', 0, 1183, b','),
    t(1114, "timestamp", b'b', b'D', 0, 1115, b','),
    t(1115, "_timestamp", b'b', b'A', 1114, 0, b','),
    t(1182, "_date", b'b', b'A', 1082, 0, b','),
    t(1183, "_time", b'b', b'A', 1083, 0, b','),
    t(1184, "timestamptz", b'b', b'D', 0, 1185, b','),
    t(1185, "_timestamptz", b'b', b'A', 1184, 0, b','),
    t(1186, "interval", b'b', b'T', 0, 1187, b','),
    t(1187, "_interval", b'b', b'A', 1186, 0, b','),
    t(1231, "_numeric", b'b', b'A', 1700, 0, b','),
    t(1266, "timetz", b'b', b'D', 0, 1270, b','),
    t(1270, "_timetz", b'b', b'A', 1266, 0, b','),
    t(1560, "bit", b'b', b'V', 0, 1561, b','),
    t(1561, "_bit", b'b', b'A', 1560, 0, b','),
    t(1562, "varbit", b'b', b'V', 0, 1563, b','),
    t(1563, "_varbit", b'b', b'A', 1562, 0, b','),
    t(1700, "numeric", b'b', b'N', 0, 1231, b','),
    t(1790, "refcursor", b'b', b'U', 0, 2201, b','),
    t(2201, "_refcursor", b'b', b'A', 1790, 0, b','),
    t(2202, "regprocedure", b'b', b'N', 0, 2207, b','),
    t(2203, "regoper", b'b', b'N', 0, 2208, b','),
    t(2204, "regoperator", b'b', b'N', 0, 2209, b','),
    t(2205, "regclass", b'b', b'N', 0, 2210, b','),
    t(2206, "regtype", b'b', b'N', 0, 2211, b','),
    t(2207, "_regprocedure", b'b', b'A', 2202, 0, b','),
    t(2208, "_regoper", b'b', b'A', 2203, 0, b','),
    t(2209, "_regoperator", b'b', b'A', 2204, 0, b','),
    t(2210, "_regclass", b'b', b'A', 2205, 0, b','),
    t(2211, "_regtype", b'b', b'A', 2206, 0, b','),
    t(2949, "_txid_snapshot", b'b', b'A', 2970, 0, b','),
    t(2950, "uuid", b'b', b'U', 0, 2951, b','),
    t(2951, "_uuid", b'b', b'A', 2950, 0, b','),
    t(2970, "txid_snapshot", b'b', b'U', 0, 2949, b','),
    t(3220, "pg_lsn", b'b', b'U', 0, 3221, b','),
    t(3221, "_pg_lsn", b'b', b'A', 3220, 0, b','),
    t(3361, "pg_ndistinct", b'b', b'Z', 0, 0, b','),
    t(3402, "pg_dependencies", b'b', b'Z', 0, 0, b','),
    t(3614, "tsvector", b'b', b'U', 0, 3643, b','),
    t(3615, "tsquery", b'b', b'U', 0, 3645, b','),
    t(3642, "gtsvector", b'b', b'U', 0, 3644, b','),
    t(3643, "_tsvector", b'b', b'A', 3614, 0, b','),
    t(3644, "_gtsvector", b'b', b'A', 3642, 0, b','),
    t(3645, "_tsquery", b'b', b'A', 3615, 0, b','),
    t(3734, "regconfig", b'b', b'N', 0, 3735, b','),
    t(3735, "_regconfig", b'b', b'A', 3734, 0, b','),
    t(3769, "regdictionary", b'b', b'N', 0, 3770, b','),
    t(3770, "_regdictionary", b'b', b'A', 3769, 0, b','),
    t(3802, "jsonb", b'b', b'U', 0, 3807, b','),
    t(3807, "_jsonb", b'b', b'A', 3802, 0, b','),
    t(3904, "int4range", b'r', b'R', 0, 3905, b','),
    t(3905, "_int4range", b'b', b'A', 3904, 0, b','),
    t(3906, "numrange", b'r', b'R', 0, 3907, b','),
    t(3907, "_numrange", b'b', b'A', 3906, 0, b','),
    t(3908, "tsrange", b'r', b'R', 0, 3909, b','),
    t(3909, "_tsrange", b'b', b'A', 3908, 0, b','),
    t(3910, "tstzrange", b'r', b'R', 0, 3911, b','),
    t(3911, "_tstzrange", b'b', b'A', 3910, 0, b','),
    t(3912, "daterange", b'r', b'R', 0, 3913, b','),
    t(3913, "_daterange", b'b', b'A', 3912, 0, b','),
    t(3926, "int8range", b'r', b'R', 0, 3927, b','),
    t(3927, "_int8range", b'b', b'A', 3926, 0, b','),
    t(4072, "jsonpath", b'b', b'U', 0, 4073, b','),
    t(4073, "_jsonpath", b'b', b'A', 4072, 0, b','),
    t(4089, "regnamespace", b'b', b'N', 0, 4090, b','),
    t(4090, "_regnamespace", b'b', b'A', 4089, 0, b','),
    t(4096, "regrole", b'b', b'N', 0, 4097, b','),
    t(4097, "_regrole", b'b', b'A', 4096, 0, b','),
    t(4191, "regcollation", b'b', b'N', 0, 4192, b','),
    t(4192, "_regcollation", b'b', b'A', 4191, 0, b','),
    t(4451, "int4multirange", b'm', b'R', 0, 6150, b','),
    t(4532, "nummultirange", b'm', b'R', 0, 6151, b','),
    t(4533, "tsmultirange", b'm', b'R', 0, 6152, b','),
    t(4534, "tstzmultirange", b'm', b'R', 0, 6153, b','),
    t(4535, "datemultirange", b'm', b'R', 0, 6155, b','),
    t(4536, "int8multirange", b'm', b'R', 0, 6157, b','),
    t(4600, "pg_brin_bloom_summary", b'b', b'Z', 0, 0, b','),
    t(4601, "pg_brin_minmax_multi_summary", b'b', b'Z', 0, 0, b','),
    t(5017, "pg_mcv_list", b'b', b'Z', 0, 0, b','),
    t(5038, "pg_snapshot", b'b', b'U', 0, 5039, b','),
    t(5039, "_pg_snapshot", b'b', b'A', 5038, 0, b','),
    t(5069, "xid8", b'b', b'U', 0, 271, b','),
    t(6150, "_int4multirange", b'b', b'A', 4451, 0, b','),
    t(6151, "_nummultirange", b'b', b'A', 4532, 0, b','),
    t(6152, "_tsmultirange", b'b', b'A', 4533, 0, b','),
    t(6153, "_tstzmultirange", b'b', b'A', 4534, 0, b','),
    t(6155, "_datemultirange", b'b', b'A', 4535, 0, b','),
    t(6157, "_int8multirange", b'b', b'A', 4536, 0, b','),
];

const fn t(
    oid: u32,
    name: &'static str,
    typtype: u8,
    category: u8,
    element: u32,
    array: u32,
    delimiter: u8,
) -> BuiltinType {
    BuiltinType {
        oid,
        name,
        typtype,
        category,
        element,
        array,
        delimiter,
    }
}
