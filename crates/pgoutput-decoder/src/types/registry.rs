//! Type resolution: from a column's type OID and type modifier (as a pgoutput RELATION message
//! gives them) to a [`ColumnType`] that says how to convert its values.
//!
//! [`TypeRegistry::new`] knows every built-in type. Everything else — enums, domains,
//! composites, ranges over user types, extension types (hstore, ltree, citext, PostGIS,
//! pgvector) and arrays of any of them — is learned from the catalog: run
//! [`catalog_query`] for the OIDs [`TypeRegistry::unknown_oids`] reports, and feed the rows to
//! [`TypeRegistry::load_catalog_rows`].

use std::{
    borrow::Borrow,
    collections::{HashMap, HashSet},
    sync::{Arc, OnceLock},
};

use super::{
    array::parse_flat_text_array,
    descriptor::{self, ColumnType, CompositeField, TypeKind},
    oid,
};
use crate::{Error, ErrorKind, Result};

/// `pg_type.typtype`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypType {
    /// `b`: a base type (arrays are base types too).
    Base,
    /// `c`: a composite (row) type.
    Composite,
    /// `d`: a domain over another type.
    Domain,
    /// `e`: an enum.
    Enum,
    /// `p`: a pseudo-type.
    Pseudo,
    /// `r`: a range.
    Range,
    /// `m`: a multirange.
    Multirange,
}

impl TypType {
    /// From the catalog letter.
    pub fn from_code(code: u8) -> Option<TypType> {
        Some(match code {
            b'b' => TypType::Base,
            b'c' => TypType::Composite,
            b'd' => TypType::Domain,
            b'e' => TypType::Enum,
            b'p' => TypType::Pseudo,
            b'r' => TypType::Range,
            b'm' => TypType::Multirange,
            _ => return None,
        })
    }
}

/// One attribute of a composite type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompositeAttribute {
    /// `pg_attribute.attname`.
    pub name: String,
    /// `pg_attribute.atttypid`.
    pub type_oid: u32,
    /// `pg_attribute.atttypmod`.
    pub typmod: i32,
}

/// What the registry knows about one `pg_type` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgType {
    /// `pg_type.oid`.
    pub oid: u32,
    /// `pg_type.typname`, e.g. `int4`, `_int4`, `mood`, `hstore`.
    pub name: String,
    /// The schema (`pg_namespace.nspname`).
    pub namespace: String,
    /// `pg_type.typtype`.
    pub typtype: TypType,
    /// `pg_type.typcategory` (`A` for arrays).
    pub category: u8,
    /// `pg_type.typelem`: the element type of an array (0 otherwise).
    pub element: u32,
    /// `pg_type.typarray`: the array type over this type (0 when none).
    pub array: u32,
    /// `pg_type.typdelim`: the separator between elements of arrays of this type.
    pub delimiter: u8,
    /// `pg_type.typbasetype`: for a domain, the type it is based on.
    pub base_type: u32,
    /// `pg_type.typtypmod`: for a domain, the base type's modifier (-1 when none).
    pub base_typmod: i32,
    /// Enum labels in `enumsortorder`.
    pub enum_labels: Arc<[String]>,
    /// Composite attributes in column order (dropped columns left out).
    pub attributes: Vec<CompositeAttribute>,
    /// For a range type, its subtype (0 otherwise).
    pub range_subtype: u32,
}

impl PgType {
    /// Whether values of this type are arrays in `array_out` form.
    pub fn is_array(&self) -> bool {
        self.typtype == TypType::Base
            && self.category == b'A'
            && self.element != 0
            // int2vector/oidvector print as space-separated lists, not `{...}`.
            && self.oid != oid::INT2VECTOR
            && self.oid != oid::OIDVECTOR
    }
}

impl ColumnType {
    /// Resolves a built-in type without a registry (unknown OIDs give [`TypeKind::Unknown`]).
    pub fn builtin(oid: u32, typmod: i32) -> ColumnType {
        static BUILTINS: OnceLock<TypeRegistry> = OnceLock::new();
        BUILTINS.get_or_init(TypeRegistry::new).resolve(oid, typmod)
    }
}

/// Deepest nesting of domains, arrays and composites followed when resolving.
const MAX_RESOLVE_DEPTH: usize = 24;

/// OID → type description, built-ins prefilled.
#[derive(Debug, Clone)]
pub struct TypeRegistry {
    types: HashMap<u32, PgType>,
}

impl Default for TypeRegistry {
    fn default() -> Self {
        TypeRegistry::new()
    }
}

impl TypeRegistry {
    /// A registry that knows every built-in type of PostgreSQL 15.
    pub fn new() -> TypeRegistry {
        let mut types = HashMap::with_capacity(oid::BUILTIN_TYPES.len() + 16);
        for b in oid::BUILTIN_TYPES {
            types.insert(
                b.oid,
                PgType {
                    oid: b.oid,
                    name: b.name.to_owned(),
                    namespace: "pg_catalog".to_owned(),
                    typtype: TypType::from_code(b.typtype).unwrap_or(TypType::Base),
                    category: b.category,
                    element: b.element,
                    array: b.array,
                    delimiter: b.delimiter,
                    base_type: 0,
                    base_typmod: -1,
                    enum_labels: Arc::from(Vec::new()),
                    attributes: Vec::new(),
                    range_subtype: 0,
                },
            );
        }
        TypeRegistry { types }
    }

    /// The type with this OID, if known.
    pub fn get(&self, oid: u32) -> Option<&PgType> {
        self.types.get(&oid)
    }

    /// Adds or replaces a type.
    pub fn insert(&mut self, ty: PgType) {
        self.types.insert(ty.oid, ty);
    }

    /// The first type with this name (any schema), e.g. to find the `hstore` OID.
    pub fn find_by_name(&self, name: &str) -> Option<&PgType> {
        self.types.values().find(|t| t.name == name)
    }

    /// Of `oids`, those the registry cannot fully resolve: unknown themselves, or referring
    /// (as element, domain base, composite attribute or range subtype) to an unknown type.
    /// Run [`catalog_query`] for the result and pass the rows to
    /// [`TypeRegistry::load_catalog_rows`].
    pub fn unknown_oids<I>(&self, oids: I) -> Vec<u32>
    where
        I: IntoIterator,
        I::Item: Borrow<u32>,
    {
        let mut missing = Vec::new();
        let mut seen = HashSet::new();
        let mut stack: Vec<u32> = oids.into_iter().map(|o| *o.borrow()).collect();
        while let Some(o) = stack.pop() {
            if o == 0 || !seen.insert(o) {
                continue;
            }
            match self.types.get(&o) {
                None => missing.push(o),
                Some(t) => {
                    if t.is_array() {
                        stack.push(t.element);
                    }
                    stack.push(t.base_type);
                    stack.push(t.range_subtype);
                    stack.extend(t.attributes.iter().map(|a| a.type_oid));
                }
            }
        }
        missing.sort_unstable();
        missing
    }

    /// Loads rows of [`TYPE_CATALOG_QUERY`] / [`catalog_query`], each a slice of nullable text
    /// values in the query's column order. Returns the OIDs the loaded types refer to (their
    /// own, array elements, domain bases, attribute types, range subtypes), so that
    /// `registry.unknown_oids(&referenced)` tells whether another round is needed (with the
    /// recursive query it never is).
    pub fn load_catalog_rows<R, S>(&mut self, rows: impl IntoIterator<Item = R>) -> Result<Vec<u32>>
    where
        R: AsRef<[Option<S>]>,
        S: AsRef<str>,
    {
        let mut referenced = Vec::new();
        for row in rows {
            let ty = TypeCatalogRow::from_text(row.as_ref())?.into_pg_type();
            referenced.push(ty.oid);
            for o in [ty.element, ty.base_type, ty.range_subtype] {
                if o != 0 {
                    referenced.push(o);
                }
            }
            referenced.extend(ty.attributes.iter().map(|a| a.type_oid));
            self.insert(ty);
        }
        referenced.sort_unstable();
        referenced.dedup();
        Ok(referenced)
    }

    /// Resolves a column's type OID and modifier (`atttypmod`, as the RELATION message sends
    /// it). Domains resolve to their base type (taking the domain's modifier when the column
    /// has none); arrays and composites resolve their parts.
    pub fn resolve(&self, oid: u32, typmod: i32) -> ColumnType {
        self.resolve_at(oid, typmod, 0)
    }

    fn resolve_at(&self, oid: u32, typmod: i32, depth: usize) -> ColumnType {
        let Some(t) = self.types.get(&oid) else {
            return ColumnType {
                oid,
                typmod,
                name: Arc::from(format!("unknown type {oid}")),
                kind: TypeKind::Unknown,
            };
        };
        let name: Arc<str> = Arc::from(t.name.as_str());
        if depth > MAX_RESOLVE_DEPTH {
            return ColumnType {
                oid,
                typmod,
                name,
                kind: TypeKind::Other,
            };
        }
        let kind = match t.typtype {
            TypType::Domain => {
                let base_mod = if typmod >= 0 { typmod } else { t.base_typmod };
                let base = self.resolve_at(t.base_type, base_mod, depth + 1);
                return ColumnType {
                    oid,
                    typmod: base.typmod,
                    name,
                    kind: base.kind,
                };
            }
            TypType::Enum => TypeKind::Enum {
                labels: t.enum_labels.clone(),
            },
            TypType::Composite => {
                let fields: Vec<CompositeField> = t
                    .attributes
                    .iter()
                    .map(|a| CompositeField {
                        name: Arc::from(a.name.as_str()),
                        ty: self.resolve_at(a.type_oid, a.typmod, depth + 1),
                    })
                    .collect();
                TypeKind::Composite {
                    fields: Arc::from(fields),
                }
            }
            TypType::Range => TypeKind::Range,
            TypType::Multirange => TypeKind::Multirange,
            TypType::Pseudo => TypeKind::Other,
            TypType::Base if t.is_array() => {
                let delimiter = self.types.get(&t.element).map_or(b',', |e| e.delimiter);
                TypeKind::Array {
                    element: Box::new(self.resolve_at(t.element, typmod, depth + 1)),
                    delimiter,
                }
            }
            TypType::Base => descriptor::base_kind(t.oid, &t.name, typmod),
        };
        ColumnType {
            oid,
            typmod,
            name,
            kind,
        }
    }
}

/// The catalog query for the types listed in `$1`, a text-format `oid[]` such as
/// `{16385,16390}`, and for every type they depend on (array elements, domain bases, composite
/// attribute types, range subtypes). Its columns are what [`TypeCatalogRow::from_text`] reads.
/// Run it with the extended protocol binding `$1`, or use [`catalog_query`] for the simple
/// query protocol.
pub const TYPE_CATALOG_QUERY: &str = "\
WITH RECURSIVE wanted(oid, depth) AS ( \
SELECT w.o, 0 FROM pg_catalog.unnest($1::pg_catalog.oid[]) AS w(o) \
UNION \
SELECT dep.o, wanted.depth + 1 FROM wanted \
JOIN pg_catalog.pg_type t ON t.oid = wanted.oid \
CROSS JOIN LATERAL ( \
SELECT t.typelem WHERE t.typelem <> 0 \
UNION ALL SELECT t.typbasetype WHERE t.typbasetype <> 0 \
UNION ALL SELECT a.atttypid FROM pg_catalog.pg_attribute a \
WHERE t.typrelid <> 0 AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped \
UNION ALL SELECT r.rngsubtype FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid \
) AS dep(o) \
WHERE wanted.depth < 16 \
) \
SELECT t.oid, t.typname, n.nspname, t.typtype, t.typcategory, t.typelem, t.typarray, \
t.typdelim, t.typbasetype, t.typtypmod, \
(SELECT pg_catalog.array_agg(e.enumlabel ORDER BY e.enumsortorder) \
FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid), \
(SELECT pg_catalog.array_agg(a.attname ORDER BY a.attnum) FROM pg_catalog.pg_attribute a \
WHERE t.typrelid <> 0 AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), \
(SELECT pg_catalog.array_agg(a.atttypid ORDER BY a.attnum) FROM pg_catalog.pg_attribute a \
WHERE t.typrelid <> 0 AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), \
(SELECT pg_catalog.array_agg(a.atttypmod ORDER BY a.attnum) FROM pg_catalog.pg_attribute a \
WHERE t.typrelid <> 0 AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), \
(SELECT r.rngsubtype FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid) \
FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
WHERE t.oid IN (SELECT wanted.oid FROM wanted) \
ORDER BY t.oid";

/// [`TYPE_CATALOG_QUERY`] with the OID list written in, for the simple query protocol.
pub fn catalog_query(oids: &[u32]) -> String {
    let mut list = String::from("'{");
    for (i, o) in oids.iter().enumerate() {
        if i > 0 {
            list.push(',');
        }
        list.push_str(&o.to_string());
    }
    list.push_str("}'");
    TYPE_CATALOG_QUERY.replace("$1", &list)
}

/// One row of [`TYPE_CATALOG_QUERY`], parsed from its text columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeCatalogRow {
    /// The type described.
    pub ty: PgType,
}

/// Number of columns [`TYPE_CATALOG_QUERY`] returns.
pub const TYPE_CATALOG_COLUMNS: usize = 15;

impl TypeCatalogRow {
    /// Parses one row of text values (`None` for SQL NULL) in the query's column order.
    pub fn from_text<S: AsRef<str>>(row: &[Option<S>]) -> Result<TypeCatalogRow> {
        if row.len() < TYPE_CATALOG_COLUMNS {
            return Err(catalog_error(format!(
                "a type catalog row has {} columns, expected {}",
                row.len(),
                TYPE_CATALOG_COLUMNS
            )));
        }
        let text = |i: usize| row[i].as_ref().map(|s| s.as_ref());
        let required = |i: usize, what: &str| {
            text(i).ok_or_else(|| catalog_error(format!("type catalog row: {what} is NULL")))
        };
        let number = |i: usize, what: &str| -> Result<i64> {
            match text(i) {
                None => Ok(0),
                Some(s) => s.trim().parse::<i64>().map_err(|_| {
                    catalog_error(format!("type catalog row: {what} {s:?} is not a number"))
                }),
            }
        };
        let oid_at = |i: usize, what: &str| -> Result<u32> {
            let v = number(i, what)?;
            u32::try_from(v)
                .map_err(|_| catalog_error(format!("type catalog row: {what} {v} is not an OID")))
        };
        let letter = |i: usize, what: &str| -> Result<u8> {
            let s = required(i, what)?;
            s.bytes()
                .next()
                .ok_or_else(|| catalog_error(format!("type catalog row: {what} is empty")))
        };
        let list = |i: usize, what: &str| -> Result<Vec<Option<String>>> {
            match text(i) {
                None => Ok(Vec::new()),
                Some(s) => parse_flat_text_array(s).ok_or_else(|| {
                    catalog_error(format!("type catalog row: {what} {s:?} is not an array"))
                }),
            }
        };

        let oid = oid_at(0, "oid")?;
        let name = required(1, "typname")?.to_owned();
        let namespace = required(2, "nspname")?.to_owned();
        let typtype_code = letter(3, "typtype")?;
        let typtype = TypType::from_code(typtype_code).ok_or_else(|| {
            catalog_error(format!(
                "type catalog row: unknown typtype {:?}",
                typtype_code as char
            ))
        })?;
        let category = letter(4, "typcategory")?;
        let element = oid_at(5, "typelem")?;
        let array = oid_at(6, "typarray")?;
        let delimiter = text(7).and_then(|s| s.bytes().next()).unwrap_or(b',');
        let base_type = oid_at(8, "typbasetype")?;
        let base_typmod = i32::try_from(number(9, "typtypmod")?)
            .map_err(|_| catalog_error("type catalog row: typtypmod out of range"))?;
        let enum_labels: Vec<String> = list(10, "enum labels")?.into_iter().flatten().collect();
        let att_names = list(11, "attribute names")?;
        let att_types = list(12, "attribute types")?;
        let att_mods = list(13, "attribute modifiers")?;
        if att_names.len() != att_types.len() || att_names.len() != att_mods.len() {
            return Err(catalog_error(
                "type catalog row: attribute lists have different lengths",
            ));
        }
        let mut attributes = Vec::with_capacity(att_names.len());
        for ((n, t), m) in att_names.into_iter().zip(att_types).zip(att_mods) {
            let type_oid = t
                .as_deref()
                .and_then(|s| s.parse::<u32>().ok())
                .ok_or_else(|| catalog_error("type catalog row: bad attribute type OID"))?;
            let typmod = m
                .as_deref()
                .and_then(|s| s.parse::<i32>().ok())
                .ok_or_else(|| catalog_error("type catalog row: bad attribute modifier"))?;
            attributes.push(CompositeAttribute {
                name: n.unwrap_or_default(),
                type_oid,
                typmod,
            });
        }
        let range_subtype = oid_at(14, "rngsubtype")?;
        Ok(TypeCatalogRow {
            ty: PgType {
                oid,
                name,
                namespace,
                typtype,
                category,
                element,
                array,
                delimiter,
                base_type,
                base_typmod,
                enum_labels: Arc::from(enum_labels),
                attributes,
                range_subtype,
            },
        })
    }

    /// The type this row describes.
    pub fn into_pg_type(self) -> PgType {
        self.ty
    }
}

fn catalog_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Decoding, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_resolve() {
        let r = TypeRegistry::new();
        assert_eq!(r.resolve(oid::INT4, -1).kind, TypeKind::Int4);
        assert_eq!(
            r.resolve(oid::NUMERIC, 655_366).kind,
            TypeKind::Numeric {
                precision: Some(10),
                scale: Some(2)
            }
        );
        // numeric(3,-2) on PostgreSQL 15: typmod = ((3 << 16) | (-2 & 0x7ff)) + 4
        let typmod = ((3 << 16) | (-2i32 & 0x7ff)) + 4;
        assert_eq!(
            r.resolve(oid::NUMERIC, typmod).kind,
            TypeKind::Numeric {
                precision: Some(3),
                scale: Some(0)
            }
        );
        assert_eq!(
            r.resolve(oid::TIMESTAMPTZ, 3).kind,
            TypeKind::TimestampTz { precision: Some(3) }
        );
        let arr = r.resolve(oid::NUMERIC_ARRAY, 393_222);
        let TypeKind::Array { element, delimiter } = &arr.kind else {
            panic!("{arr:?}")
        };
        assert_eq!(*delimiter, b',');
        assert_eq!(
            element.kind,
            TypeKind::Numeric {
                precision: Some(6),
                scale: Some(2)
            }
        );
        let TypeKind::Array { delimiter, .. } = r.resolve(oid::BOX_ARRAY, -1).kind else {
            panic!()
        };
        assert_eq!(delimiter, b';');
        assert_eq!(r.resolve(oid::INT2VECTOR, -1).kind, TypeKind::Other);
        assert_eq!(r.resolve(99_999, -1).kind, TypeKind::Unknown);
        assert_eq!(ColumnType::builtin(oid::TEXT, -1).kind, TypeKind::Text);
    }

    #[test]
    fn catalog_rows_teach_user_types() {
        let mut r = TypeRegistry::new();
        assert_eq!(
            r.unknown_oids([oid::INT4, 16_385, 16_400]),
            vec![16_385, 16_400]
        );
        let rows: Vec<Vec<Option<&str>>> = vec![
            // enum mood
            vec![
                Some("16385"),
                Some("mood"),
                Some("public"),
                Some("e"),
                Some("E"),
                Some("0"),
                Some("16384"),
                Some(","),
                Some("0"),
                Some("-1"),
                Some("{sad,ok,\"very happy\"}"),
                None,
                None,
                None,
                None,
            ],
            // domain price over numeric(8,2)
            vec![
                Some("16400"),
                Some("price"),
                Some("public"),
                Some("d"),
                Some("N"),
                Some("0"),
                Some("16399"),
                Some(","),
                Some("1700"),
                Some("524294"),
                None,
                None,
                None,
                None,
                None,
            ],
            // composite pair(a int4, b text)
            vec![
                Some("16410"),
                Some("pair"),
                Some("public"),
                Some("c"),
                Some("C"),
                Some("0"),
                Some("16409"),
                Some(","),
                Some("0"),
                Some("-1"),
                None,
                Some("{a,b}"),
                Some("{23,25}"),
                Some("{-1,-1}"),
                None,
            ],
        ];
        assert_eq!(
            r.load_catalog_rows(&rows).unwrap(),
            vec![23, 25, 1700, 16_385, 16_400, 16_410]
        );
        assert!(r.unknown_oids([16_385, 16_400, 16_410]).is_empty());
        let TypeKind::Enum { labels } = r.resolve(16_385, -1).kind else {
            panic!()
        };
        assert_eq!(&labels[..], ["sad", "ok", "very happy"]);
        let price = r.resolve(16_400, -1);
        assert_eq!(&*price.name, "price");
        assert_eq!(
            price.kind,
            TypeKind::Numeric {
                precision: Some(8),
                scale: Some(2)
            }
        );
        let TypeKind::Composite { fields } = r.resolve(16_410, -1).kind else {
            panic!()
        };
        assert_eq!(&*fields[1].name, "b");
        assert_eq!(fields[0].ty.kind, TypeKind::Int4);
    }

    #[test]
    fn bad_catalog_rows_are_errors() {
        let mut r = TypeRegistry::new();
        let short: Vec<Vec<Option<&str>>> = vec![vec![Some("1")]];
        assert!(r.load_catalog_rows(&short).is_err());
        let mut row: Vec<Option<&str>> = vec![Some("x"); TYPE_CATALOG_COLUMNS];
        assert!(r.load_catalog_rows([&row]).is_err());
        row[0] = Some("16385");
        row[3] = Some("q");
        assert!(r.load_catalog_rows([&row]).is_err());
    }

    #[test]
    fn catalog_query_embeds_oids() {
        let q = catalog_query(&[16_385, 16_400]);
        assert!(q.contains("'{16385,16400}'::pg_catalog.oid[]"));
        assert!(!q.contains("$1"));
    }
}
