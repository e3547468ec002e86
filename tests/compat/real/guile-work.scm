;; guile-work.scm — a Guile workload for cgc-run (tests/compat/real/guile.sh):
;; threads, guardians, weak hash tables and plenty of allocation. Every line
;; it prints is the same on any correct collector (counts that depend on
;; conservative scanning are printed as thresholds met, not as numbers).
(use-modules (ice-9 threads) (srfi srfi-1) (ice-9 format))

(define (make-tree d)
  (if (= d 0) (cons #f #f) (cons (make-tree (- d 1)) (make-tree (- d 1)))))
(define (check t)
  (if (car t) (+ 1 (check (car t)) (check (cdr t))) 1))

;; Allocation in 4 threads at once: binary trees, strings, vectors, bignums.
(define (worker id)
  (let loop ((i 0) (acc 0))
    (if (= i 40)
        acc
        (let* ((t (make-tree 12))
               (s (string-append (number->string id) "-" (number->string (* i i i 1000000000007))))
               (v (make-vector 100 s))
               (h (make-hash-table)))
          (for-each (lambda (k) (hash-set! h k (list k s))) (iota 200))
          (loop (+ i 1) (+ acc (check t) (string-length (vector-ref v 99)) (hash-count (const #t) h)))))))
(define results (par-map worker (iota 4)))
(format #t "threads: ~a\n" results)

;; A long-lived structure while the threads churn: an alist of 20,000 entries.
(define kept (map (lambda (i) (cons i (number->string i))) (iota 20000)))

;; Guardians: 10,000 objects guarded and dropped come back after collections;
;; 10,000 guarded and kept never do. (The symbol is compared by name: on
;; either library the 'dropped read in a later form is a new symbol when no
;; collection ran while the lists were made, which depends on the
;; collector's pacing and the other threads: guile-symbol.scm.)
(define g (make-guardian))
(define held (map (lambda (i) (let ((x (list 'held i))) (g x) x)) (iota 10000)))
(let loop ((i 0)) (when (< i 10000) (g (list 'dropped i)) (loop (+ i 1))))
(gc) (gc)
(define returned
  (let loop ((n 0) (ok #t))
    (let ((x (g)))
      (if x (loop (+ n 1) (and ok (string=? (symbol->string (car x)) "dropped"))) (cons n ok)))))
(format #t "guardian: ~a of 10000 dropped objects returned; only dropped ones: ~a\n"
        (if (>= (car returned) 9000) "at least 9000" (car returned))
        (cdr returned))

;; Weak-key hash table: keys kept stay, keys dropped go.
(define wt (make-weak-key-hash-table))
(define strong (map (lambda (i) (let ((k (list 'k i))) (hash-set! wt k i) k)) (iota 5000)))
(let loop ((i 0)) (when (< i 20000) (hash-set! wt (list 'gone i) i) (loop (+ i 1))))
(gc) (gc) (gc)
(format #t "weak table: all 5000 kept keys present: ~a; dropped keys gone: ~a\n"
        (every (lambda (k) (eqv? (hash-ref wt k) (cadr k))) strong)
        (let ((n (hash-fold (lambda (k v n) (+ n 1)) 0 wt))) (if (<= n 6000) "at least 19000" n)))

;; Weak vectors/values: a weak-value table of strings.
(define wv (make-weak-value-hash-table))
(define vals (map (lambda (i) (let ((s (string-copy (number->string i)))) (hash-set! wv i s) s)) (iota 3000)))
(gc)
(format #t "weak values: kept ~a\n" (every (lambda (i) (string=? (hash-ref wv i) (number->string i))) (iota 3000)))

(format #t "kept: ~a ~a ~a\n" (length kept) (cdr (list-ref kept 12345)) (length held))
(format #t "sum: ~a\n" (fold + 0 (map (lambda (p) (car p)) kept)))
