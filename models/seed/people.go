package seed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"

	"roster/models"
)

// What a seeded person looks like: names in the scripts a messaging service
// meets (accents that name search must fold, right-to-left scripts, CJK,
// names with emoji), the statuses people set, the phones they sign in from,
// and avatar photos. The pools are small; combining first and last names
// makes them varied enough for lists, search and sorting to look real.

// seedNameGroup is a set of first and last names in one script, with its
// share of users (weights sum to 1000) and whether the family name comes
// first without a space (as in Chinese and Korean).
type seedNameGroup struct {
	weight      int
	first, last []string
	familyFirst bool
}

func seedNameGroups() []seedNameGroup {
	return []seedNameGroup{
		{weight: 180, first: []string{"Alice", "Emma", "Olivia", "Liam", "Noah", "James", "Sophia", "Mia", "Lucas", "Ethan",
			"Grace", "Jack", "Ava", "Henry", "Ella", "Oscar", "Ruby", "Leo", "Isla", "Sam"},
			last: []string{"Martin", "Smith", "Johnson", "Brown", "Taylor", "Wilson", "O'Brien", "Walker", "Hughes", "Clarke",
				"Rossi", "Ferrari", "Murphy", "Kelly", "Evans", "Wright", "Baker", "Hall", "Young", "King"}},
		{weight: 330, first: []string{"Chloé", "Zoë", "José", "Inès", "Léa", "Noémie", "Björn", "Søren", "Łukasz", "Małgorzata",
			"Jürgen", "François", "Anaïs", "Çağla", "Ümit", "Dávid", "Žofia", "Tomáš", "Ángel", "Núria", "João", "Conceição",
			"Thảo", "Hélène", "Agnès", "Jérôme", "Åsa", "Mónica", "Dağhan", "Ştefan"},
			last: []string{"Müller", "García", "Núñez", "Dubois", "Lefèvre", "Kowalski", "Nowak", "Søndergaard", "Åberg", "Öztürk",
				"Silva", "Gonçalves", "Nguyễn", "Martínez", "Schröder", "Dvořák", "Brontë", "Périgord", "Ibáñez", "Çelik",
				"Fernández", "Wiśniewska", "Hernández", "Jørgensen", "Lindqvist", "Moreau", "Svoboda", "Popescu", "Kovač", "Martin"}},
		{weight: 90, first: []string{"Алексей", "Мария", "Дмитрий", "Анна", "Ольга", "Иван", "Наталья", "Сергей", "Ёлка", "Юлия"},
			last: []string{"Иванов", "Смирнова", "Петров", "Ковальчук", "Шевченко", "Соколова", "Попов", "Лебедева", "Фёдоров", "Орлова"}},
		{weight: 30, first: []string{"Γιώργος", "Μαρία", "Νίκος", "Ελένη", "Δημήτρης", "Σοφία"},
			last: []string{"Παπαδόπουλος", "Οικονόμου", "Γεωργίου", "Νικολάου", "Αλεξίου"}},
		{weight: 70, first: []string{"محمد", "فاطمة", "أحمد", "ليلى", "يوسف", "مريم", "عمر", "نور"},
			last: []string{"العلي", "حسن", "الخطيب", "منصور", "السيد", "عبدالله"}},
		{weight: 30, first: []string{"דוד", "נועה", "יוסף", "שרה", "מיכל", "אורי"},
			last: []string{"כהן", "לוי", "מזרחי", "פרץ", "ביטון"}},
		{weight: 60, first: []string{"伟", "娜", "敏", "洋", "静", "磊", "婷", "杰", "芳", "涛"},
			last: []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵"}, familyFirst: true},
		{weight: 40, first: []string{"花子", "一郎", "さくら", "大輔", "陽菜", "翔太", "ゆい"},
			last: []string{"佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺"}},
		{weight: 30, first: []string{"민준", "서연", "지호", "하은", "도윤", "수아"},
			last: []string{"김", "이", "박", "최", "정"}, familyFirst: true},
		{weight: 40, first: []string{"आरव", "प्रिया", "राहुल", "अनन्या", "विक्रम", "दिव्या"},
			last: []string{"शर्मा", "पटेल", "सिंह", "गुप्ता", "वर्मा"}},
		{weight: 20, first: []string{"สมชาย", "สมหญิง", "ประยุทธ", "มาลี"},
			last: []string{"ใจดี", "ศรีสุข", "วงศ์ไทย"}},
		// Display names people choose: a nickname, an emoji, a role.
		{weight: 50, first: []string{"Mom ❤️", "Dani 🌸", "🎸 Marco", "Coach K", "Dr. Ruiz", "Nana", "Big Mike", "Jojo ✨",
			"Tía Carmen", "Yuki 🐱", "Pastor Dave", "DJ Nova", "Abuela 👵", "Captain 🚀", "Lulu"}},
	}
}

// seedName draws a display name; about 2% of users never set one.
func seedName(rng *rand.Rand) string {
	if rng.IntN(100) < 2 {
		return ""
	}
	r := rng.IntN(1000)
	for _, g := range seedNameGroups() {
		if r >= g.weight {
			r -= g.weight
			continue
		}
		first := g.first[rng.IntN(len(g.first))]
		switch {
		case len(g.last) == 0:
			return first
		case g.familyFirst:
			return g.last[rng.IntN(len(g.last))] + first
		default:
			return first + " " + g.last[rng.IntN(len(g.last))]
		}
	}
	return "Sam Taylor" // unreachable while the weights sum to 1000
}

// seedStatus draws a status: most people keep the default, some never set one.
func seedStatus(rng *rand.Rand) string {
	statuses := []string{"", "Available", "Busy", "At work", "At the gym 🏋️", "Sleeping 😴", "Battery about to die",
		"En vacances ☀️", "Только звонки", "Texts only, no calls", "Urgent calls only", "在忙", "ただいま仕事中",
		"Saudade 🇧🇷", "Living the dream", "On a plane ✈️", "¡Hola! ¿Qué tal?", "Ramadan Kareem 🌙", "Back on Monday",
		"📵 Digital detox", "Can't talk, message me", "In a meeting", "Ciao 👋", "Gone fishing 🎣"}
	if rng.IntN(100) < 40 {
		return "Hey there! I am using Roster"
	}
	return statuses[rng.IntN(len(statuses))]
}

// seedDevice is a phone model, its protocol device type and user agent.
type seedDevice struct{ model, dt, userAgent string }

func seedDevices() []seedDevice {
	return []seedDevice{
		{"Pixel 8", "1", "Messenger/2.4.1 (Android 14; Pixel 8)"},
		{"Galaxy S24", "1", "Messenger/2.4.1 (Android 14; SM-S921B)"},
		{"Galaxy A54", "1", "Messenger/2.3.0 (Android 13; SM-A546B)"},
		{"Redmi Note 13", "1", "Messenger/2.4.0 (Android 13; 23129RAA4G)"},
		{"iPhone 15", "2", "Messenger/2.4.1 (iOS 17.5; iPhone15,4)"},
		{"iPhone 13", "2", "Messenger/2.3.2 (iOS 16.7; iPhone14,5)"},
		{"iPhone SE", "2", "Messenger/2.4.1 (iOS 17.4; iPhone14,6)"},
		{"iPad Air", "2", "Messenger/2.4.1 (iPadOS 17.5; iPad13,16)"},
	}
}

// seedIP is an address from the documentation ranges (RFC 5737, RFC 3849),
// so that seeded data never names a real network.
func seedIP(rng *rand.Rand) string {
	switch rng.IntN(10) {
	case 0, 1:
		return fmt.Sprintf("2001:db8:%x:%x::%x", rng.IntN(1<<16), rng.IntN(1<<16), 1+rng.IntN(1<<16-1))
	case 2, 3, 4:
		return fmt.Sprintf("198.51.100.%d", 1+rng.IntN(254))
	case 5, 6, 7:
		return fmt.Sprintf("203.0.113.%d", 1+rng.IntN(254))
	}
	return fmt.Sprintf("192.0.2.%d", 1+rng.IntN(254))
}

// seedAvatars are a few profile photos, stored through the upload path (so
// their thumbnails are what an upload makes) and shared by hard links: each
// user with a photo has a file of their own name, which deleting the user
// removes without touching anyone else's.
type seedAvatars struct {
	dir    string
	photos []*models.StoredPhoto
	used   []bool // the stored file has been given to its first user
}

const seedAvatarCount = 12

func newSeedAvatars(ctx context.Context, dir string) (*seedAvatars, error) {
	files, err := models.NewDirFiles(dir)
	if err != nil {
		return nil, err
	}
	store := models.NewPhotos(files, models.DefaultPhotoLimits())
	a := &seedAvatars{dir: dir, used: make([]bool, seedAvatarCount)}
	for i := range seedAvatarCount {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, seedAvatarImage(i), &jpeg.Options{Quality: 90}); err != nil {
			return nil, err
		}
		p, err := store.Store(ctx, &buf)
		if err != nil {
			return nil, err
		}
		a.photos = append(a.photos, p)
	}
	return a, nil
}

// seedAvatarImage draws avatar i: a head and shoulders on a background of
// its own hue.
func seedAvatarImage(i int) image.Image {
	const side = 320
	hues := [seedAvatarCount][3]uint8{{231, 76, 60}, {52, 152, 219}, {46, 204, 113}, {155, 89, 182}, {241, 196, 15}, {26, 188, 156},
		{230, 126, 34}, {52, 73, 94}, {236, 112, 160}, {127, 140, 141}, {22, 160, 133}, {192, 57, 43}}
	bg := hues[i%seedAvatarCount]
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	for y := range side {
		for x := range side {
			shade := uint8(y * 40 / side) // a gentle vertical gradient
			c := color.RGBA{bg[0] - min(bg[0], shade), bg[1] - min(bg[1], shade), bg[2] - min(bg[2], shade), 255}
			hx, hy := x-side/2, y-side*2/5   // head
			bx, by := x-side/2, y-side*21/20 // shoulders
			if hx*hx+hy*hy < (side/5)*(side/5) || (bx*bx+by*by < (side*2/5)*(side*2/5)) {
				c = color.RGBA{250, 245, 240, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// give returns the file name and thumbnail for the next user with avatar i:
// the stored file itself for its first user, a new hard link after that
// (a copy where the file system has no hard links).
func (a *seedAvatars) give(rng *rand.Rand, i int) (name, thumb string, err error) {
	p := a.photos[i]
	if !a.used[i] {
		a.used[i] = true
		return p.Name, p.Thumbnail, nil
	}
	name = fmt.Sprintf("%016x%016x.jpg", rng.Uint64(), rng.Uint64())
	src, dst := filepath.Join(a.dir, p.Name), filepath.Join(a.dir, name)
	if err := os.Link(src, dst); err != nil {
		if errors.Is(err, os.ErrExist) {
			return "", "", err
		}
		if err := copyFile(src, dst); err != nil {
			return "", "", err
		}
	}
	return name, p.Thumbnail, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
