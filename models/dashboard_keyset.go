package models

import (
	"slices"

	"gorm.io/gorm"
)

// Keyset is where a page of a list in id order (newest first) starts: the
// rows older than Before, the rows newer than After, or, both 0, the
// newest. Ids only grow, so a page reached through a cursor stays the
// same page however many rows are added meanwhile: paging on neither
// repeats nor skips a row.
type Keyset struct {
	Before int64
	After  int64
}

// PageLinks are the cursors of the pages beside one: Older is the Before
// of the next older page, Newer the After of the next newer one (0: none).
type PageLinks struct {
	Older int64
	Newer int64
}

// keysetPage reads one page of the rows of q (a fresh query each call, on
// a table with an id), newest first, at most limit of them, and the
// cursors around it.
func keysetPage[T any](q func() *gorm.DB, k Keyset, limit int, id func(*T) int64) ([]T, PageLinks, error) {
	var rows []T
	var links PageLinks
	page := q()
	switch {
	case k.After > 0:
		page = page.Where("id > ?", k.After).Order("id")
	case k.Before > 0:
		page = page.Where("id < ?", k.Before).Order("id DESC")
	default:
		page = page.Order("id DESC")
	}
	if err := page.Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, links, err
	}
	more := len(rows) > limit
	rows = rows[:min(len(rows), limit)]
	if k.After > 0 {
		slices.Reverse(rows)
	}
	if len(rows) == 0 {
		return rows, links, nil
	}
	newest, oldest := id(&rows[0]), id(&rows[len(rows)-1])
	exists := func(cond string, v int64) (bool, error) {
		var ids []int64
		err := q().Where(cond, v).Limit(1).Pluck("id", &ids).Error
		return len(ids) > 0, err
	}
	var err error
	older, newer := more, more
	if k.After > 0 {
		older, err = exists("id < ?", oldest)
	} else {
		newer = false
		if k.Before > 0 {
			newer, err = exists("id > ?", newest)
		}
	}
	if older {
		links.Older = oldest
	}
	if newer {
		links.Newer = newest
	}
	return rows, links, err
}
