package config

import "strings"

// suggest returns the known key closest to key, compared case-insensitively, when it
// is close enough to be a plausible typo: at most a quarter of its letters (and at
// least one, at most three) differ.
func suggest(key string, known []string) (string, bool) {
	if len(key) > 200 {
		return "", false // not a typo; spare the quadratic comparison
	}
	best, bestDist := "", -1
	lk := strings.ToLower(key)
	for _, k := range known {
		d := levenshtein(lk, strings.ToLower(k))
		if bestDist < 0 || d < bestDist {
			best, bestDist = k, d
		}
	}
	if bestDist < 0 {
		return "", false
	}
	limit := min(max(len([]rune(best))/4, 1), 3)
	return best, bestDist <= limit
}

// levenshtein is the edit distance between a and b in runes, counting a swap of two
// neighbours as one edit (optimal string alignment), since "rma" for "ram" is one slip.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	rows := make([][]int, 3) // rows i-2, i-1 and i of the distance matrix
	for k := range rows {
		rows[k] = make([]int, len(rb)+1)
	}
	for j := range rows[1] {
		rows[1][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		pp, prev, cur := rows[0], rows[1], rows[2]
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], pp[j-2]+1)
			}
		}
		rows[0], rows[1], rows[2] = prev, cur, pp
	}
	return rows[1][len(rb)]
}
