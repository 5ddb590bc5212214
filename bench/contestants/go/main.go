// The Go contestant: net/http answering GET / with the service's bytes (and the rest of its
// contract: 405 with Allow, /healthz, 404). Standard library only.
package main

import (
	"log"
	"net/http"
	"os"
)

var body = []byte(`{"myFavoriteAthlete":"Usain Bolt"}`)

func main() {
	addr := os.Getenv("BIND_ADDRESS") + ":" + os.Getenv("PORT")
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusMethodNotAllowed)
			w.Write([]byte("Only GET method valid"))
			return
		}
		if r.URL.Path == "/healthz" { // the rest of the contract, for tests/conformance
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"status":"ok"}`))
			return
		}
		if r.URL.Path != "/" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":"not found"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	log.Fatal(http.ListenAndServe(addr, nil))
}
