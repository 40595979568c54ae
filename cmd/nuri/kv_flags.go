package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/nuri-ai/nuri/model"
)

// kvTypeFlags are llama.cpp's -ctk and -ctv (--cache-type-k/-v): the K and
// V cache types apart, beside a command's own flag that gives both.
type kvTypeFlags struct{ k, v string }

// addKVTypeFlags registers -ctk and -ctv; both names the command's flag
// for the two together.
func addKVTypeFlags(fs *flag.FlagSet, both string) *kvTypeFlags {
	f := &kvTypeFlags{}
	for _, n := range []string{"cache-type-k", "ctk"} {
		fs.StringVar(&f.k, n, "", "K cache type alone (llama.cpp's -ctk), as --"+both+" gives it; V keeps --"+both+"'s")
	}
	for _, n := range []string{"cache-type-v", "ctv"} {
		fs.StringVar(&f.v, n, "", "V cache type alone (llama.cpp's -ctv), as --"+both+" gives it; K keeps --"+both+"'s")
	}
	return f
}

// settle resolves K's and V's types: -ctk's and -ctv's where given, else
// both's, the value of the command's flag bothFlag (its default where not
// given, as llama.cpp's default for the one not given is f16). A type given
// both ways must agree. The names come back in lower case, checked.
func (f *kvTypeFlags) settle(bothFlag, both string, bothSet bool) (k, v string, err error) {
	k, v = strings.ToLower(both), strings.ToLower(both)
	for _, e := range []struct {
		flag, given string
		dst         *string
	}{{"--cache-type-k", f.k, &k}, {"--cache-type-v", f.v, &v}} {
		if e.given == "" {
			continue
		}
		// llama.cpp also takes bf16.
		if _, err := model.ParseKVCacheType(e.given); err != nil {
			return "", "", fmt.Errorf("%s %s: Nuri's KV cache takes %s", e.flag, e.given, model.KVCacheTypeNames())
		}
		if bothSet && !strings.EqualFold(e.given, both) {
			return "", "", fmt.Errorf("--%s %s and %s %s disagree; give one", bothFlag, both, e.flag, e.given)
		}
		*e.dst = strings.ToLower(e.given)
	}
	if f.k == "" || f.v == "" { // both gives one side at least
		if _, err := model.ParseKVCacheType(both); err != nil {
			return "", "", fmt.Errorf("--%s: %w", bothFlag, err)
		}
	}
	return k, v, nil
}

// names is settle for a command whose flags fs has parsed, names being
// its flag for both types and that flag's aliases.
func (f *kvTypeFlags) names(fs *flag.FlagSet, names ...string) (k, v string, err error) {
	given := false
	fs.Visit(func(fl *flag.Flag) { given = given || slices.Contains(names, fl.Name) })
	return f.settle(names[0], fs.Lookup(names[0]).Value.String(), given)
}

// types is names, parsed.
func (f *kvTypeFlags) types(fs *flag.FlagSet, names ...string) (model.KVTypes, error) {
	k, v, err := f.names(fs, names...)
	if err != nil {
		return model.KVTypes{}, err
	}
	return model.ParseKVTypes(k, v)
}
