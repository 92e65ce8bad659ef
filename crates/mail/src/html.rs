//! HTML to plain text, for the text version of HTML-only mail and for finding its new part.
//! A small single-pass reader: block elements become line breaks, `<blockquote>` lines get `> `,
//! `<script>`, `<style>` and `<head>` vanish, entities are decoded. Fast and never fails.

/// The text of an HTML document.
pub fn html_to_text(html: &str) -> String {
    let mut out = Text::default();
    let mut rest = html;
    let mut skip_until: Option<&'static str> = None;
    let mut pre = 0usize;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            if skip_until.is_none() {
                out.push_text(rest, pre > 0);
            }
            break;
        };
        let (before, after) = rest.split_at(lt);
        if skip_until.is_none() {
            out.push_text(before, pre > 0);
        }
        // Comments and doctype.
        if let Some(body) = after.strip_prefix("<!--") {
            rest = body
                .find("-->")
                .and_then(|e| body.get(e + 3..))
                .unwrap_or("");
            continue;
        }
        let Some(gt) = after.find('>') else {
            break;
        };
        let tag = after.get(1..gt).unwrap_or("");
        rest = after.get(gt + 1..).unwrap_or("");
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if let Some(until) = skip_until {
            if closing && name == until {
                skip_until = None;
            }
            continue;
        }
        match (name.as_str(), closing) {
            ("script", false) => skip_until = Some("script"),
            ("style", false) => skip_until = Some("style"),
            ("head", false) => skip_until = Some("head"),
            ("title", false) => skip_until = Some("title"),
            ("br", _) => out.br(),
            ("p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "table" | "ul" | "ol", _) => {
                out.paragraph()
            }
            (
                "div" | "tr" | "li" | "dt" | "dd" | "hr" | "section" | "article" | "header"
                | "footer" | "address",
                _,
            ) => out.newline(),
            ("td" | "th", false) => out.space(),
            ("pre", false) => {
                out.newline();
                pre += 1;
            }
            ("pre", true) => {
                pre = pre.saturating_sub(1);
                out.newline();
            }
            ("blockquote", false) => {
                out.newline();
                out.depth += 1;
            }
            ("blockquote", true) => {
                out.newline();
                out.depth = out.depth.saturating_sub(1);
            }
            _ => {}
        }
    }
    out.finish()
}

#[derive(Default)]
struct Text {
    lines: Vec<String>,
    line: String,
    depth: usize,
    line_depth: usize,
    pending_space: bool,
}

impl Text {
    fn push_text(&mut self, raw: &str, pre: bool) {
        let decoded = decode_entities(raw);
        if pre {
            let mut first = true;
            for part in decoded.split('\n') {
                if !first {
                    self.newline();
                }
                first = false;
                self.push_word(part.trim_end_matches('\r'));
            }
            return;
        }
        for (i, word) in decoded
            .split(|c: char| c.is_whitespace() && c != '\u{a0}')
            .enumerate()
        {
            if i > 0 {
                self.pending_space = true;
            }
            if !word.is_empty() {
                let w = word.replace('\u{a0}', " ");
                self.push_word(&w);
            }
        }
        if decoded.ends_with(|c: char| c.is_whitespace()) {
            self.pending_space = true;
        }
    }

    fn push_word(&mut self, w: &str) {
        if w.is_empty() {
            return;
        }
        if self.line.is_empty() {
            self.line_depth = self.depth;
        } else if self.pending_space {
            self.line.push(' ');
        }
        self.pending_space = false;
        self.line.push_str(w);
    }

    fn space(&mut self) {
        self.pending_space = true;
    }

    /// A block boundary: ends the current line, if there is one.
    fn newline(&mut self) {
        // A block holding only a non-breaking space is a spacer line: it stays as a blank line.
        if !self.line.is_empty() {
            self.br();
        }
        self.line.clear();
        self.pending_space = false;
        self.line_depth = self.depth;
    }

    /// A line break: ends the current line, empty or not.
    fn br(&mut self) {
        let line = std::mem::take(&mut self.line);
        let prefix = "> ".repeat(self.line_depth);
        if line.trim().is_empty() {
            // An empty line only separates; keep at most one.
            if self
                .lines
                .last()
                .is_some_and(|l| !l.trim_end_matches(['>', ' ']).is_empty())
            {
                self.lines.push(prefix.trim_end().to_owned());
            }
        } else {
            self.lines.push(format!("{prefix}{}", line.trim()));
        }
        self.pending_space = false;
        self.line_depth = self.depth;
    }

    fn paragraph(&mut self) {
        self.newline();
        if self
            .lines
            .last()
            .is_some_and(|l| !l.trim_end_matches(['>', ' ']).is_empty())
        {
            self.lines
                .push("> ".repeat(self.depth).trim_end().to_owned());
        }
    }

    fn finish(mut self) -> String {
        self.newline();
        while self
            .lines
            .last()
            .is_some_and(|l| l.trim_end_matches(['>', ' ']).is_empty())
        {
            self.lines.pop();
        }
        let start = self
            .lines
            .iter()
            .position(|l| !l.trim_end_matches(['>', ' ']).is_empty())
            .unwrap_or(self.lines.len());
        self.lines.get(start..).unwrap_or_default().join("\n")
    }
}

/// Decodes HTML character references (named ones that mail uses, and numeric ones).
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or(""));
        let after = rest.get(amp + 1..).unwrap_or("");
        let end = after.find(';').filter(|&e| e <= 10);
        let decoded = end.and_then(|e| after.get(..e)).and_then(entity);
        match (decoded, end) {
            (Some(c), Some(e)) => {
                out.push(c);
                rest = after.get(e + 1..).unwrap_or("");
            }
            _ => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).filter(|c| *c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "Auml" => 'Ä',
        "Ouml" => 'Ö',
        "Uuml" => 'Ü',
        "szlig" => 'ß',
        "euro" => '€',
        "eacute" => 'é',
        "egrave" => 'è',
        "agrave" => 'à',
        "aacute" => 'á',
        "ccedil" => 'ç',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "bdquo" => '„',
        "ldquo" => '“',
        "rdquo" => '”',
        "lsquo" => '‘',
        "rsquo" => '’',
        "sbquo" => '‚',
        "laquo" => '«',
        "raquo" => '»',
        "bull" => '•',
        "middot" => '·',
        "deg" => '°',
        "sect" => '§',
        "shy" => '\u{ad}',
        "zwnj" => '\u{200c}',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_become_lines() {
        let t = html_to_text(
            "<html><head><style>p{}</style></head><body><p>Hallo&nbsp;Anna,</p><p>Ihr Paket<br>ist da &amp; gut.</p><blockquote><div>alt</div></blockquote></body></html>",
        );
        assert_eq!(t, "Hallo Anna,\n\nIhr Paket\nist da & gut.\n\n> alt");
    }

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("M&uuml;ller &#252; &#xFC; &bogus; &"),
            "Müller ü ü &bogus; &"
        );
    }

    #[test]
    fn broken_html_does_not_fail() {
        let _ = html_to_text("<div <p>>< <<script>x");
        let _ = html_to_text("&#99999999999;<");
    }
}
