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
    BuiltinType {
        oid: 16,
        name: "bool",
        typtype: b'b',
        category: b'B',
        element: 0,
        array: 1000,
        delimiter: b',',
    },
    BuiltinType {
        oid: 17,
        name: "bytea",
        typtype: b'b',
        category: b'U',
        element: 0,
        array: 1001,
        delimiter: b',',
    },
    BuiltinType {
        oid: 18,
        name: "char",
        typtype: b'b',
        category: b'Z',
        element: 0,
        array: 1002,
        delimiter: b',',
    },
    BuiltinType {
        oid: 19,
        name: "name",
        typtype: b'b',
        category: b'S',
        element: 18,
        array: 1003,
        delimiter: b',',
    },
    BuiltinType {
        oid: 20,
        name: "int8",
        typtype: b'b',
        category: b'N',
        element: 0,
        array: 1016,
        delimiter: b',',
    },
    BuiltinType {
        oid: 21,
        name: "int2",
        typtype: b'b',
        category: b'N',
        element: 0,
        array: 1005,
        delimiter: b',',
    },
    BuiltinType {
        oid: 22,
        name: "int2vector",
        typtype: b'b',
        category: b'A',
        element: 21,
        array: 1006,
        delimiter: b',',
    },
    BuiltinType {
        oid: 23,
        name: "int4",
        typtype: b'b',
        category: b'N',
        element: 0,
        array: 1007,
        delimiter: b',',
    },
    BuiltinType {
        oid: 24,
        name: "regproc",
        typtype: b'b',
        category: b'N',
        element: 0,
        array: 1008,
        delimiter: b',',
    },
    BuiltinType {
        oid: 25,
        name: "text",
        typtype: b'b',
        category: b'S',
        element: 0,
        array: 1009,
        delimiter: b',',
    },
    BuiltinType {
        oid: 26,
        name: "oid",
        typtype: b'b',
        category: b'N',
        element: 0,
        array: 1028,
        delimiter: b',',
    },
    BuiltinType {
        oid: 27,
        name: "tid",
        typtype: b'b',
        category: b'U',
        element: 0,
        array: 1010,
        delimiter: b',',
    },
    BuiltinType {
        oid: 28,
        name: "xid",
        typtype: b'b',
        category: b'U',
        element: 0,
        array: 1011,
        delimiter: b',',
    },
    BuiltinType {
        oid: 29,
        name: "cid",
        typtype: b'b',
        category: b'U',
        element: 0,
        array: 1012,
        delimiter: b',',
    },
    BuiltinType {
        oid: 30,
        name: "oidvector",
        typtype: b'b',
        category: b'A',
        element: 26,
        array: 1013,
        delimiter: b',',
    },
    BuiltinType {
        oid: 114,
        name: "json",
        typtype: b'b',
        category: b'U',
        element: 0,
        array: 199,
        delimiter: b',',
    },
    BuiltinType {
        oid: 142,
        name: "xml",
        typtype: b'b',
        category: b'U',
        element: 0,
        array: 143,
        delimiter: b',',
    },
    BuiltinType {
        oid: 143,
        name: "_xml",
        typtype: b'b',
        category: b'A',
        element: 142,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 194,
        name: "pg_node_tree",
        typtype: b'b',
        category: b'Z',
        element: 0,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 199,
        name: "_json",
        typtype: b'b',
        category: b'A',
        element: 114,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 271,
        name: "_xid8",
        typtype: b'b',
        category: b'A',
        element: 5069,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 600,
        name: "point",
        typtype: b'b',
        category: b'G',
        element: 701,
        array: 1017,
        delimiter: b',',
    },
    BuiltinType {
        oid: 601,
        name: "lseg",
        typtype: b'b',
        category: b'G',
        element: 600,
        array: 1018,
        delimiter: b',',
    },
    BuiltinType {
        oid: 602,
        name: "path",
        typtype: b'b',
        category: b'G',
        element: 0,
        array: 1019,
        delimiter: b',',
    },
    BuiltinType {
        oid: 603,
        name: "box",
        typtype: b'b',
        category: b'G',
        element: 600,
        array: 1020,
        delimiter: b';',
    },
    BuiltinType {
        oid: 604,
        name: "polygon",
        typtype: b'b',
        category: b'G',
        element: 0,
        array: 1027,
        delimiter: b',',
    },
    BuiltinType {
        oid: 628,
        name: "line",
        typtype: b'b',
        category: b'G',
        element: 701,
        array: 629,
        delimiter: b',',
    },
    BuiltinType {
        oid: 629,
        name: "_line",
        typtype: b'b',
        category: b'A',
        element: 628,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 650,
        name: "cidr",
        typtype: b'b',
        category: b'I',
        element: 0,
        array: 651,
        delimiter: b',',
    },
    BuiltinType {
        oid: 651,
        name: "_cidr",
        typtype: b'b',
        category: b'A',
        element: 650,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 700,
        name: "float4",
        typtype: b'b',
        category: b'N',
        element: 0,
        array: 1021,
        delimiter: b',',
    },
    BuiltinType {
        oid: 701,
        name: "float8",
        typtype: b'b',
        category: b'N',
        element: 0,
        array: 1022,
        delimiter: b',',
    },
    BuiltinType {
        oid: 718,
        name: "circle",
        typtype: b'b',
        category: b'G',
        element: 0,
        array: 719,
        delimiter: b',',
    },
    BuiltinType {
        oid: 719,
        name: "_circle",
        typtype: b'b',
        category: b'A',
        element: 718,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 774,
        name: "macaddr8",
        typtype: b'b',
        category: b'U',
        element: 0,
        array: 775,
        delimiter: b',',
    },
    BuiltinType {
        oid: 775,
        name: "_macaddr8",
        typtype: b'b',
        category: b'A',
        element: 774,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 790,
        name: "money",
        typtype: b'b',
        category: b'N',
        element: 0,
        array: 791,
        delimiter: b',',
    },
    BuiltinType {
        oid: 791,
        name: "_money",
        typtype: b'b',
        category: b'A',
        element: 790,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 829,
        name: "macaddr",
        typtype: b'b',
        category: b'U',
        element: 0,
        array: 1040,
        delimiter: b',',
    },
    BuiltinType {
        oid: 869,
        name: "inet",
        typtype: b'b',
        category: b'I',
        element: 0,
        array: 1041,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1000,
        name: "_bool",
        typtype: b'b',
        category: b'A',
        element: 16,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1001,
        name: "_bytea",
        typtype: b'b',
        category: b'A',
        element: 17,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1002,
        name: "_char",
        typtype: b'b',
        category: b'A',
        element: 18,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1003,
        name: "_name",
        typtype: b'b',
        category: b'A',
        element: 19,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1005,
        name: "_int2",
        typtype: b'b',
        category: b'A',
        element: 21,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1006,
        name: "_int2vector",
        typtype: b'b',
        category: b'A',
        element: 22,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1007,
        name: "_int4",
        typtype: b'b',
        category: b'A',
        element: 23,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1008,
        name: "_regproc",
        typtype: b'b',
        category: b'A',
        element: 24,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1009,
        name: "_text",
        typtype: b'b',
        category: b'A',
        element: 25,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1010,
        name: "_tid",
        typtype: b'b',
        category: b'A',
        element: 27,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1011,
        name: "_xid",
        typtype: b'b',
        category: b'A',
        element: 28,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1012,
        name: "_cid",
        typtype: b'b',
        category: b'A',
        element: 29,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1013,
        name: "_oidvector",
        typtype: b'b',
        category: b'A',
        element: 30,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1014,
        name: "_bpchar",
        typtype: b'b',
        category: b'A',
        element: 1042,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1015,
        name: "_varchar",
        typtype: b'b',
        category: b'A',
        element: 1043,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1016,
        name: "_int8",
        typtype: b'b',
        category: b'A',
        element: 20,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1017,
        name: "_point",
        typtype: b'b',
        category: b'A',
        element: 600,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1018,
        name: "_lseg",
        typtype: b'b',
        category: b'A',
        element: 601,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1019,
        name: "_path",
        typtype: b'b',
        category: b'A',
        element: 602,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1020,
        name: "_box",
        typtype: b'b',
        category: b'A',
        element: 603,
        array: 0,
        delimiter: b';',
    },
    BuiltinType {
        oid: 1021,
        name: "_float4",
        typtype: b'b',
        category: b'A',
        element: 700,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1022,
        name: "_float8",
        typtype: b'b',
        category: b'A',
        element: 701,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1027,
        name: "_polygon",
        typtype: b'b',
        category: b'A',
        element: 604,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1028,
        name: "_oid",
        typtype: b'b',
        category: b'A',
        element: 26,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1033,
        name: "aclitem",
        typtype: b'b',
        category: b'U',
        element: 0,
        array: 1034,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1034,
        name: "_aclitem",
        typtype: b'b',
        category: b'A',
        element: 1033,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1040,
        name: "_macaddr",
        typtype: b'b',
        category: b'A',
        element: 829,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1041,
        name: "_inet",
        typtype: b'b',
        category: b'A',
        element: 869,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1042,
        name: "bpchar",
        typtype: b'b',
        category: b'S',
        element: 0,
        array: 1014,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1043,
        name: "varchar",
        typtype: b'b',
        category: b'S',
        element: 0,
        array: 1015,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1082,
        name: "date",
        typtype: b'b',
        category: b'D',
        element: 0,
        array: 1182,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1083,
        name: "time",
        typtype: b'b',
        category: b'D',
        element: 0,
        array: 1183,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1114,
        name: "timestamp",
        typtype: b'b',
        category: b'D',
        element: 0,
        array: 1115,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1115,
        name: "_timestamp",
        typtype: b'b',
        category: b'A',
        element: 1114,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1182,
        name: "_date",
        typtype: b'b',
        category: b'A',
        element: 1082,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1183,
        name: "_time",
        typtype: b'b',
        category: b'A',
        element: 1083,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1184,
        name: "timestamptz",
        typtype: b'b',
        category: b'D',
        element: 0,
        array: 1185,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1185,
        name: "_timestamptz",
        typtype: b'b',
        category: b'A',
        element: 1184,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1186,
        name: "interval",
        typtype: b'b',
        category: b'T',
        element: 0,
        array: 1187,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1187,
        name: "_interval",
        typtype: b'b',
        category: b'A',
        element: 1186,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1231,
        name: "_numeric",
        typtype: b'b',
        category: b'A',
        element: 1700,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1266,
        name: "timetz",
        typtype: b'b',
        category: b'D',
        element: 0,
        array: 1270,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1270,
        name: "_timetz",
        typtype: b'b',
        category: b'A',
        element: 1266,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1560,
        name: "bit",
        typtype: b'b',
        category: b'V',
        element: 0,
        array: 1561,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1561,
        name: "_bit",
        typtype: b'b',
        category: b'A',
        element: 1560,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1562,
        name: "varbit",
        typtype: b'b',
        category: b'V',
        element: 0,
        array: 1563,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1563,
        name: "_varbit",
        typtype: b'b',
        category: b'A',
        element: 1562,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1700,
        name: "numeric",
        typtype: b'b',
        category: b'N',
        element: 0,
        array: 1231,
        delimiter: b',',
    },
    BuiltinType {
        oid: 1790,
        name: "refcursor",
        typtype: b'b',
        category: b'U',
        element: 0,
        array: 2201,
        delimiter: b',',
    },
    BuiltinType {
        oid: 2201,
        name: "_refcursor",
        typtype: b'b',
        category: b'A',
        element: 1790,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 2202,
        name: "regprocedure",
        typtype: b'b',
        category: b'N',
        element: 0,
        array: 2207,
        delimiter: b',',
    },
    BuiltinType {
        oid: 2203,
        name: "regoper",
        typtype: b'b',
        category: b'N',
        element: 0,
        array: 2208,
        delimiter: b',',
    },
    BuiltinType {
        oid: 2204,
        name: "regoperator",
        typtype: b'b',
        category: b'N',
        element: 0,
        array: 2209,
        delimiter: b',',
    },
    BuiltinType {
        oid: 2205,
        name: "regclass",
        typtype: b'b',
        category: b'N',
        element: 0,
        array: 2210,
        delimiter: b',',
    },
    BuiltinType {
        oid: 2206,
        name: "regtype",
        typtype: b'b',
        category: b'N',
        element: 0,
        array: 2211,
        delimiter: b',',
    },
    BuiltinType {
        oid: 2207,
        name: "_regprocedure",
        typtype: b'b',
        category: b'A',
        element: 2202,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 2208,
        name: "_regoper",
        typtype: b'b',
        category: b'A',
        element: 2203,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 2209,
        name: "_regoperator",
        typtype: b'b',
        category: b'A',
        element: 2204,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 2210,
        name: "_regclass",
        typtype: b'b',
        category: b'A',
        element: 2205,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 2211,
        name: "_regtype",
        typtype: b'b',
        category: b'A',
        element: 2206,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 2949,
        name: "_txid_snapshot",
        typtype: b'b',
        category: b'A',
        element: 2970,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 2950,
        name: "uuid",
        typtype: b'b',
        category: b'U',
        element: 0,
        array: 2951,
        delimiter: b',',
    },
    BuiltinType {
        oid: 2951,
        name: "_uuid",
        typtype: b'b',
        category: b'A',
        element: 2950,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 2970,
        name: "txid_snapshot",
        typtype: b'b',
        category: b'U',
        element: 0,
        array: 2949,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3220,
        name: "pg_lsn",
        typtype: b'b',
        category: b'U',
        element: 0,
        array: 3221,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3221,
        name: "_pg_lsn",
        typtype: b'b',
        category: b'A',
        element: 3220,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3361,
        name: "pg_ndistinct",
        typtype: b'b',
        category: b'Z',
        element: 0,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3402,
        name: "pg_dependencies",
        typtype: b'b',
        category: b'Z',
        element: 0,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3614,
        name: "tsvector",
        typtype: b'b',
        category: b'U',
        element: 0,
        array: 3643,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3615,
        name: "tsquery",
        typtype: b'b',
        category: b'U',
        element: 0,
        array: 3645,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3642,
        name: "gtsvector",
        typtype: b'b',
        category: b'U',
        element: 0,
        array: 3644,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3643,
        name: "_tsvector",
        typtype: b'b',
        category: b'A',
        element: 3614,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3644,
        name: "_gtsvector",
        typtype: b'b',
        category: b'A',
        element: 3642,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3645,
        name: "_tsquery",
        typtype: b'b',
        category: b'A',
        element: 3615,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3734,
        name: "regconfig",
        typtype: b'b',
        category: b'N',
        element: 0,
        array: 3735,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3735,
        name: "_regconfig",
        typtype: b'b',
        category: b'A',
        element: 3734,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3769,
        name: "regdictionary",
        typtype: b'b',
        category: b'N',
        element: 0,
        array: 3770,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3770,
        name: "_regdictionary",
        typtype: b'b',
        category: b'A',
        element: 3769,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3802,
        name: "jsonb",
        typtype: b'b',
        category: b'U',
        element: 0,
        array: 3807,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3807,
        name: "_jsonb",
        typtype: b'b',
        category: b'A',
        element: 3802,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3904,
        name: "int4range",
        typtype: b'r',
        category: b'R',
        element: 0,
        array: 3905,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3905,
        name: "_int4range",
        typtype: b'b',
        category: b'A',
        element: 3904,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3906,
        name: "numrange",
        typtype: b'r',
        category: b'R',
        element: 0,
        array: 3907,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3907,
        name: "_numrange",
        typtype: b'b',
        category: b'A',
        element: 3906,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3908,
        name: "tsrange",
        typtype: b'r',
        category: b'R',
        element: 0,
        array: 3909,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3909,
        name: "_tsrange",
        typtype: b'b',
        category: b'A',
        element: 3908,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3910,
        name: "tstzrange",
        typtype: b'r',
        category: b'R',
        element: 0,
        array: 3911,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3911,
        name: "_tstzrange",
        typtype: b'b',
        category: b'A',
        element: 3910,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3912,
        name: "daterange",
        typtype: b'r',
        category: b'R',
        element: 0,
        array: 3913,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3913,
        name: "_daterange",
        typtype: b'b',
        category: b'A',
        element: 3912,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3926,
        name: "int8range",
        typtype: b'r',
        category: b'R',
        element: 0,
        array: 3927,
        delimiter: b',',
    },
    BuiltinType {
        oid: 3927,
        name: "_int8range",
        typtype: b'b',
        category: b'A',
        element: 3926,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 4072,
        name: "jsonpath",
        typtype: b'b',
        category: b'U',
        element: 0,
        array: 4073,
        delimiter: b',',
    },
    BuiltinType {
        oid: 4073,
        name: "_jsonpath",
        typtype: b'b',
        category: b'A',
        element: 4072,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 4089,
        name: "regnamespace",
        typtype: b'b',
        category: b'N',
        element: 0,
        array: 4090,
        delimiter: b',',
    },
    BuiltinType {
        oid: 4090,
        name: "_regnamespace",
        typtype: b'b',
        category: b'A',
        element: 4089,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 4096,
        name: "regrole",
        typtype: b'b',
        category: b'N',
        element: 0,
        array: 4097,
        delimiter: b',',
    },
    BuiltinType {
        oid: 4097,
        name: "_regrole",
        typtype: b'b',
        category: b'A',
        element: 4096,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 4191,
        name: "regcollation",
        typtype: b'b',
        category: b'N',
        element: 0,
        array: 4192,
        delimiter: b',',
    },
    BuiltinType {
        oid: 4192,
        name: "_regcollation",
        typtype: b'b',
        category: b'A',
        element: 4191,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 4451,
        name: "int4multirange",
        typtype: b'm',
        category: b'R',
        element: 0,
        array: 6150,
        delimiter: b',',
    },
    BuiltinType {
        oid: 4532,
        name: "nummultirange",
        typtype: b'm',
        category: b'R',
        element: 0,
        array: 6151,
        delimiter: b',',
    },
    BuiltinType {
        oid: 4533,
        name: "tsmultirange",
        typtype: b'm',
        category: b'R',
        element: 0,
        array: 6152,
        delimiter: b',',
    },
    BuiltinType {
        oid: 4534,
        name: "tstzmultirange",
        typtype: b'm',
        category: b'R',
        element: 0,
        array: 6153,
        delimiter: b',',
    },
    BuiltinType {
        oid: 4535,
        name: "datemultirange",
        typtype: b'm',
        category: b'R',
        element: 0,
        array: 6155,
        delimiter: b',',
    },
    BuiltinType {
        oid: 4536,
        name: "int8multirange",
        typtype: b'm',
        category: b'R',
        element: 0,
        array: 6157,
        delimiter: b',',
    },
    BuiltinType {
        oid: 4600,
        name: "pg_brin_bloom_summary",
        typtype: b'b',
        category: b'Z',
        element: 0,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 4601,
        name: "pg_brin_minmax_multi_summary",
        typtype: b'b',
        category: b'Z',
        element: 0,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 5017,
        name: "pg_mcv_list",
        typtype: b'b',
        category: b'Z',
        element: 0,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 5038,
        name: "pg_snapshot",
        typtype: b'b',
        category: b'U',
        element: 0,
        array: 5039,
        delimiter: b',',
    },
    BuiltinType {
        oid: 5039,
        name: "_pg_snapshot",
        typtype: b'b',
        category: b'A',
        element: 5038,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 5069,
        name: "xid8",
        typtype: b'b',
        category: b'U',
        element: 0,
        array: 271,
        delimiter: b',',
    },
    BuiltinType {
        oid: 6150,
        name: "_int4multirange",
        typtype: b'b',
        category: b'A',
        element: 4451,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 6151,
        name: "_nummultirange",
        typtype: b'b',
        category: b'A',
        element: 4532,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 6152,
        name: "_tsmultirange",
        typtype: b'b',
        category: b'A',
        element: 4533,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 6153,
        name: "_tstzmultirange",
        typtype: b'b',
        category: b'A',
        element: 4534,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 6155,
        name: "_datemultirange",
        typtype: b'b',
        category: b'A',
        element: 4535,
        array: 0,
        delimiter: b',',
    },
    BuiltinType {
        oid: 6157,
        name: "_int8multirange",
        typtype: b'b',
        category: b'A',
        element: 4536,
        array: 0,
        delimiter: b',',
    },
];
