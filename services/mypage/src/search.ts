/**
 * Search text as the read model stores and queries it. English words go
 * through PostgreSQL's English stemmer; Hangul, which that stemmer leaves
 * whole (so 김치 would not find 김치찌개), is also indexed as two-syllable
 * pieces, the usual way to index CJK text, so any word of two or more
 * syllables is found inside longer words and before particles. Substrings of
 * three or more characters in any script are found through a trigram index.
 */

const HANGUL_RUN = /[\uac00-\ud7a3]+/g;

/** Every two-syllable piece of each Hangul run, and runs of one syllable whole. */
function hangulPieces(text: string): string[] {
  const pieces: string[] = [];
  for (const [run] of text.matchAll(HANGUL_RUN)) {
    const syllables = [...run];
    if (syllables.length === 1) pieces.push(run);
    for (let i = 0; i + 1 < syllables.length; i++) pieces.push(syllables[i]! + syllables[i + 1]!);
  }
  return pieces;
}

/** How `?ingredient=` matches: Unicode-normalised, trimmed, single-spaced, lower case. */
export const ingredientKey = (s: string) => s.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();

/** What onRegistered stores for a recipe's title and ingredients. */
export function searchDocument(title: string, ingredients: readonly string[]) {
  const ingredientsText = ingredients.join('\n');
  return {
    ingredientKeys: [...new Set(ingredients.map(ingredientKey))],
    /** Title and ingredients, one per line: what the trigram index covers. */
    searchText: `${title}\n${ingredientsText}`,
    ingredientsText,
    titlePieces: hangulPieces(title).join(' '),
    ingredientPieces: hangulPieces(ingredientsText).join(' '),
  };
}

/** The SQL of the tsvector built from searchDocument's parts (title weighs more than ingredients), for 4 bindings. */
export const SEARCH_VECTOR_SQL =
  "setweight(to_tsvector('english', ?), 'A') || setweight(to_tsvector('english', ?), 'B') || " +
  "setweight(to_tsvector('simple', ?), 'A') || setweight(to_tsvector('simple', ?), 'B')";

/** The SQL of the tsquery for a search's `english` and `hangul` parts, for 2 bindings. */
export const SEARCH_QUERY_SQL = "(websearch_to_tsquery('english', ?) && to_tsquery('simple', ?))";

/**
 * A member's search, ready for SQL: English words (websearch syntax: quotes,
 * `or`, `-word`), every Hangul word as all its two-syllable pieces, and a
 * LIKE pattern for the trigram index when the text is long enough for it
 * (a pattern of fewer than three characters has no trigram to look up).
 */
export function searchQuery(q: string) {
  const english = q.replace(HANGUL_RUN, ' ');
  const hangul = hangulPieces(q)
    .map((piece) => `'${piece}'`)
    .join(' & ');
  const like = [...q].length >= 3 ? `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : undefined;
  return { english, hangul, like };
}
