/*
 * Parses SQL files with Trino's own parser (io.trino:trino-parser, see pom.xml), so that syntax
 * Athena engine v3 (Trino) would reject fails the tests here instead of in AWS.
 *
 *   java -cp "$(cat tools/trino-parser/target/classpath.txt)" tools/trino-parser/ParseSql.java FILE...
 *
 * Prints one line per file, `OK <file>` or `ERROR <file>: line L:C: <message>` (L:C is the
 * position in the file), and exits 1 when any file failed (2 on a usage or I/O error).
 *
 * Each file must hold exactly ONE statement (a single trailing `;` is tolerated). The text is
 * given to the parser as is, except:
 *  - `{{NAME}}` deployment placeholders (lib/sql-files.ts) are replaced by `x` characters of the
 *    same length, so every line:col stays the one in the file;
 *  - Athena's `UNLOAD (<query>) TO '<location>' WITH (<properties>)`, which Trino has no syntax
 *    for, is checked here: the inner query is parsed by Trino (located at its offset in the file),
 *    the location must be an `s3://` string literal and the properties must be Athena's UNLOAD
 *    properties (format, compression, compression_level, field_delimiter, partitioned_by), each
 *    value parsed as a Trino expression of the expected shape.
 * Comments and positional `?` parameters are left alone: Trino's lexer skips `--` and `/* *\/`
 * comments and its grammar has `?` parameters.
 */

import io.trino.sql.parser.ParsingException;
import io.trino.sql.parser.SqlParser;
import io.trino.sql.tree.Array;
import io.trino.sql.tree.Expression;
import io.trino.sql.tree.LongLiteral;
import io.trino.sql.tree.NodeLocation;
import io.trino.sql.tree.StringLiteral;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class ParseSql {
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{[A-Z_]+\\}\\}");
    private static final Set<String> UNLOAD_FORMATS = Set.of("AVRO", "ION", "JSON", "ORC", "PARQUET", "TEXTFILE");

    public static void main(String[] args) {
        if (args.length == 0) {
            System.err.println("usage: java -cp <classpath> ParseSql.java FILE...");
            System.exit(2);
        }
        SqlParser parser = new SqlParser();
        boolean failed = false;
        for (String file : args) {
            String text;
            try {
                text = Files.readString(Path.of(file), StandardCharsets.UTF_8);
            } catch (IOException e) {
                System.out.println("ERROR " + file + ": cannot read: " + e);
                failed = true;
                continue;
            }
            try {
                check(parser, fillPlaceholders(text));
                System.out.println("OK " + file);
            } catch (ParsingException e) {
                System.out.println("ERROR " + file + ": " + oneLine(e.getMessage()));
                failed = true;
            } catch (RuntimeException e) {
                System.out.println("ERROR " + file + ": line 1:1: internal error: " + oneLine(String.valueOf(e)));
                failed = true;
            }
        }
        System.out.flush();
        System.exit(failed ? 1 : 0);
    }

    private static String oneLine(String message) {
        return message.replaceAll("\\s*\\R\\s*", " ");
    }

    /** `{{NAME}}` → `xxxxxxxx` of the same length (keeps line:col). */
    static String fillPlaceholders(String text) {
        Matcher m = PLACEHOLDER.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) m.appendReplacement(out, "x".repeat(m.group().length()));
        m.appendTail(out);
        return out.toString();
    }

    // ---------------------------------------------------------------------------------------
    // A minimal lexer: just enough to find the UNLOAD wrapper, balanced parentheses and a
    // trailing `;` outside string literals, quoted identifiers and comments.
    // ---------------------------------------------------------------------------------------

    enum Kind { WORD, STRING, PUNCT }

    record Token(Kind kind, String text, int start, int end) {}

    static List<Token> tokenize(String s) {
        List<Token> tokens = new ArrayList<>();
        int i = 0;
        int n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            if (Character.isWhitespace(c)) {
                i++;
            } else if (c == '-' && i + 1 < n && s.charAt(i + 1) == '-') {
                while (i < n && s.charAt(i) != '\n' && s.charAt(i) != '\r') i++;
            } else if (c == '/' && i + 1 < n && s.charAt(i + 1) == '*') {
                int close = s.indexOf("*/", i + 2);
                if (close < 0) throw error(s, i, "unterminated comment");
                i = close + 2;
            } else if (c == '\'' || c == '"') {
                int j = i + 1;
                while (true) {
                    if (j >= n) throw error(s, i, c == '\'' ? "unterminated string literal" : "unterminated quoted identifier");
                    if (s.charAt(j) == c) {
                        if (j + 1 < n && s.charAt(j + 1) == c) { j += 2; continue; }
                        break;
                    }
                    j++;
                }
                tokens.add(new Token(c == '\'' ? Kind.STRING : Kind.WORD, s.substring(i, j + 1), i, j + 1));
                i = j + 1;
            } else if (Character.isLetterOrDigit(c) || c == '_') {
                int j = i;
                while (j < n && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_' || s.charAt(j) == '.')) j++;
                tokens.add(new Token(Kind.WORD, s.substring(i, j), i, j));
                i = j;
            } else {
                tokens.add(new Token(Kind.PUNCT, String.valueOf(c), i, i + 1));
                i++;
            }
        }
        return tokens;
    }

    static NodeLocation location(String s, int offset) {
        int line = 1;
        int col = 1;
        for (int i = 0; i < offset && i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\n' || (c == '\r' && (i + 1 >= s.length() || s.charAt(i + 1) != '\n'))) {
                line++;
                col = 1;
            } else if (c != '\r') {
                col++;
            }
        }
        return new NodeLocation(line, col);
    }

    static ParsingException error(String s, int offset, String message) {
        return new ParsingException(message, location(s, offset));
    }

    static boolean is(Token t, String text) {
        return t.kind() != Kind.STRING && t.text().equalsIgnoreCase(text);
    }

    /** Index of the `)` matching the `(` at tokens[open]. */
    static int matchingParen(String s, List<Token> tokens, int open) {
        int depth = 0;
        for (int i = open; i < tokens.size(); i++) {
            if (is(tokens.get(i), "(")) depth++;
            else if (is(tokens.get(i), ")") && --depth == 0) return i;
        }
        throw error(s, tokens.get(open).start(), "unbalanced parenthesis");
    }

    // ---------------------------------------------------------------------------------------

    static void check(SqlParser parser, String text) {
        List<Token> tokens = tokenize(text);
        if (tokens.isEmpty()) throw error(text, text.length(), "no statement in file");
        int last = tokens.size() - 1;
        int end = text.length();
        if (is(tokens.get(last), ";")) {
            // a single trailing `;` is fine (Athena and DuckDB accept it); the parser does not
            end = tokens.get(last).start();
            tokens = tokens.subList(0, last);
            if (tokens.isEmpty()) throw error(text, 0, "no statement in file");
        }
        if (is(tokens.get(0), "UNLOAD")) {
            checkUnload(parser, text, tokens);
        } else {
            // the text up to the trailing `;` (if any): offsets, and so line:col, are unchanged
            parser.createStatement(text.substring(0, end));
        }
    }

    static void checkUnload(SqlParser parser, String text, List<Token> tokens) {
        int i = 1;
        if (i >= tokens.size() || !is(tokens.get(i), "(")) throw expected(text, tokens, i, "'(' after UNLOAD");
        int close = matchingParen(text, tokens, i);
        int queryStart = tokens.get(i).end();
        parser.createStatement(only(text, queryStart, tokens.get(close).start()));
        i = close + 1;
        if (i >= tokens.size() || !is(tokens.get(i), "TO")) throw expected(text, tokens, i, "TO after UNLOAD (...)");
        i++;
        if (i >= tokens.size() || tokens.get(i).kind() != Kind.STRING) throw expected(text, tokens, i, "the target location as a string literal");
        if (!tokens.get(i).text().startsWith("'s3://")) throw error(text, tokens.get(i).start(), "UNLOAD target must be an s3:// location");
        i++;
        if (i >= tokens.size()) return; // WITH is optional (Athena's default format is TEXTFILE)
        if (!is(tokens.get(i), "WITH")) throw expected(text, tokens, i, "WITH or end of statement");
        i++;
        if (i >= tokens.size() || !is(tokens.get(i), "(")) throw expected(text, tokens, i, "'(' after WITH");
        int propsClose = matchingParen(text, tokens, i);
        if (propsClose != tokens.size() - 1) throw expected(text, tokens, propsClose + 1, "end of statement");
        checkUnloadProperties(parser, text, tokens.subList(i + 1, propsClose), tokens.get(i));
    }

    static ParsingException expected(String text, List<Token> tokens, int i, String what) {
        if (i >= tokens.size()) return error(text, text.length(), "expected " + what + " but found end of input");
        return error(text, tokens.get(i).start(), "expected " + what + " but found '" + tokens.get(i).text() + "'");
    }

    static void checkUnloadProperties(SqlParser parser, String text, List<Token> props, Token open) {
        if (props.isEmpty()) throw error(text, open.end(), "empty UNLOAD WITH (...) property list");
        Set<String> seen = new HashSet<>();
        int depth = 0;
        int from = 0;
        for (int i = 0; i <= props.size(); i++) {
            boolean atEnd = i == props.size();
            if (!atEnd) {
                Token t = props.get(i);
                if (is(t, "(") || is(t, "[")) depth++;
                else if (is(t, ")") || is(t, "]")) depth--;
            }
            if (atEnd || (depth == 0 && is(props.get(i), ","))) {
                checkUnloadProperty(parser, text, props.subList(from, i), atEnd ? text.length() : props.get(i).start(), seen);
                from = i + 1;
            }
        }
    }

    static void checkUnloadProperty(SqlParser parser, String text, List<Token> prop, int endOffset, Set<String> seen) {
        if (prop.isEmpty()) throw error(text, endOffset, "missing UNLOAD property");
        Token name = prop.get(0);
        if (name.kind() != Kind.WORD || name.text().startsWith("\"")) throw error(text, name.start(), "expected an UNLOAD property name but found '" + name.text() + "'");
        String key = name.text().toLowerCase(Locale.ROOT);
        if (!Set.of("format", "compression", "compression_level", "field_delimiter", "partitioned_by").contains(key)) {
            throw error(text, name.start(), "unknown UNLOAD property '" + name.text() + "' (format, compression, compression_level, field_delimiter, partitioned_by)");
        }
        if (!seen.add(key)) throw error(text, name.start(), "UNLOAD property '" + name.text() + "' given twice");
        if (prop.size() < 2 || !is(prop.get(1), "=")) throw expected(text, prop, 1, "'=' after " + name.text());
        if (prop.size() < 3) throw error(text, prop.get(1).end(), "missing value of UNLOAD property " + name.text());
        int valueStart = prop.get(2).start();
        int valueEnd = prop.get(prop.size() - 1).end();
        Expression value = parseExpression(parser, text, valueStart, valueEnd);
        NodeLocation at = location(text, valueStart);
        switch (key) {
            case "format" -> {
                String format = stringValue(value, at, key).toUpperCase(Locale.ROOT);
                if (!UNLOAD_FORMATS.contains(format)) throw new ParsingException("unsupported UNLOAD format '" + format + "' " + UNLOAD_FORMATS, at);
            }
            case "compression", "field_delimiter" -> stringValue(value, at, key);
            case "compression_level" -> {
                if (!(value instanceof LongLiteral)) throw new ParsingException("compression_level must be an integer literal", at);
            }
            case "partitioned_by" -> {
                if (!(value instanceof Array array) || array.getValues().isEmpty()) throw new ParsingException("partitioned_by must be ARRAY['column', ...]", at);
                for (Expression column : array.getValues()) stringValue(column, at, "partitioned_by element");
            }
            default -> throw new IllegalStateException(key);
        }
    }

    static String stringValue(Expression value, NodeLocation at, String what) {
        if (!(value instanceof StringLiteral literal)) throw new ParsingException(what + " must be a string literal", value.getLocation().orElse(at));
        return literal.getValue();
    }

    /** Parses text[start, end) as a Trino expression (errors are at their position in the file). */
    static Expression parseExpression(SqlParser parser, String text, int start, int end) {
        return parser.createExpression(only(text, start, end));
    }

    /**
     * text[start, end) with everything else blanked out (line breaks kept), so the parser reports
     * positions as in the file.
     */
    static String only(String text, int start, int end) {
        StringBuilder out = new StringBuilder(end);
        for (int i = 0; i < start; i++) {
            char c = text.charAt(i);
            out.append(c == '\n' || c == '\r' ? c : ' ');
        }
        return out.append(text, start, end).toString();
    }
}
