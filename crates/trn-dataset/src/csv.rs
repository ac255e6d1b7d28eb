//! The comma-separated tables of trn's formats (`frames.csv`, `results.csv`, the band
//! tables): plain cells without quoting (no cell of these formats holds a comma), a header
//! row naming the columns, and a reader whose every error names the file, the line and the
//! column.

use crate::error::DatasetError;
use std::collections::HashMap;
use std::path::Path;

/// One CSV line: the cells joined by commas, with the final newline.
#[must_use]
pub fn line<S: AsRef<str>>(cells: impl IntoIterator<Item = S>) -> String {
    let mut out = String::new();
    for (k, c) in cells.into_iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        out.push_str(c.as_ref());
    }
    out.push('\n');
    out
}

/// A number in the shortest form that reads back to the same f64.
#[must_use]
pub fn exact(v: f64) -> String {
    format!("{v:?}")
}

/// A parsed table: its columns by name and its data rows (blank lines skipped).
#[derive(Debug)]
pub struct Table<'t> {
    path: &'t Path,
    columns: HashMap<&'t str, usize>,
    rows: Vec<(usize, Vec<&'t str>)>,
}

impl<'t> Table<'t> {
    /// Splits `text` (the contents of `path`) into cells, checking that the header names
    /// every column of `required` exactly once and that every row has the header's width.
    /// Extra columns are allowed.
    ///
    /// # Errors
    ///
    /// [`DatasetError::Invalid`] naming the file and the header or the line.
    ///
    /// ```
    /// use trn_dataset::csv::Table;
    /// let path = std::path::Path::new("t.csv");
    /// let t = Table::parse(path, "a,b\n1,x\n\n2,\n", &["a", "b"]).unwrap();
    /// let rows: Vec<_> = t.rows().collect();
    /// assert_eq!(rows[1].f64("a").unwrap(), 2.0);
    /// assert_eq!(rows[1].opt_f64("b").unwrap(), None);
    /// let e = rows[0].f64("b").unwrap_err().to_string();
    /// assert_eq!(e, "t.csv: invalid line 2, b: 'x' is not a finite number");
    /// ```
    pub fn parse(path: &'t Path, text: &'t str, required: &[&str]) -> Result<Self, DatasetError> {
        let mut lines = text.lines().enumerate();
        let (_, header) = lines
            .next()
            .ok_or_else(|| DatasetError::invalid_file(path, "header", "the file is empty"))?;
        let names: Vec<&str> = header.split(',').map(str::trim).collect();
        let mut columns = HashMap::new();
        for (i, n) in names.iter().enumerate() {
            if columns.insert(*n, i).is_some() {
                return Err(DatasetError::invalid_file(
                    path,
                    "header",
                    format!("column '{n}' appears twice"),
                ));
            }
        }
        if let Some(c) = required.iter().find(|c| !columns.contains_key(*c)) {
            return Err(DatasetError::invalid_file(
                path,
                "header",
                format!("missing column '{c}'"),
            ));
        }
        let mut rows = Vec::new();
        for (i, l) in lines {
            if l.trim().is_empty() {
                continue;
            }
            let cells: Vec<&str> = l.split(',').map(str::trim).collect();
            if cells.len() != names.len() {
                return Err(DatasetError::invalid_file(
                    path,
                    format!("line {}", i + 1),
                    format!("{} fields, the header has {}", cells.len(), names.len()),
                ));
            }
            rows.push((i + 1, cells));
        }
        Ok(Self {
            path,
            columns,
            rows,
        })
    }

    /// The data rows, in file order.
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> + '_ {
        self.rows.iter().map(|(line, cells)| Row {
            table: self,
            line: *line,
            cells,
        })
    }

    /// How many data rows there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there is no data row.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// One data row of a [`Table`], read by column name.
#[derive(Clone, Copy, Debug)]
pub struct Row<'a> {
    table: &'a Table<'a>,
    line: usize,
    cells: &'a [&'a str],
}

impl Row<'_> {
    /// The row's line number in the file (the header is line 1).
    #[must_use]
    pub fn line(&self) -> usize {
        self.line
    }

    /// The cell of `column` (empty for a column the table lacks).
    #[must_use]
    pub fn cell(&self, column: &str) -> &str {
        self.table
            .columns
            .get(column)
            .and_then(|i| self.cells.get(*i))
            .copied()
            .unwrap_or("")
    }

    /// An error naming the file, this line and `field`.
    #[must_use]
    pub fn error(&self, field: &str, detail: impl Into<String>) -> DatasetError {
        DatasetError::invalid_file(
            self.table.path,
            format!("line {}, {field}", self.line),
            detail,
        )
    }

    /// A required finite number.
    ///
    /// # Errors
    ///
    /// [`Row::error`] when the cell is empty or not a finite number.
    pub fn f64(&self, column: &str) -> Result<f64, DatasetError> {
        let s = self.cell(column);
        if s.is_empty() {
            return Err(self.error(column, "empty"));
        }
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| self.error(column, format!("'{s}' is not a finite number")))
    }

    /// An optional finite number (an empty cell is `None`).
    ///
    /// # Errors
    ///
    /// As [`Row::f64`] for a cell that is not empty.
    pub fn opt_f64(&self, column: &str) -> Result<Option<f64>, DatasetError> {
        if self.cell(column).is_empty() {
            Ok(None)
        } else {
            self.f64(column).map(Some)
        }
    }

    /// A required non-negative integer.
    ///
    /// # Errors
    ///
    /// [`Row::error`] when the cell is not one.
    pub fn u64(&self, column: &str) -> Result<u64, DatasetError> {
        let s = self.cell(column);
        s.parse::<u64>()
            .map_err(|_| self.error(column, format!("'{s}' is not a non-negative integer")))
    }
}
