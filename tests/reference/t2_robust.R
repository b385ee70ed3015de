## t2_robust.R -- reference values for the robust one-sample Hotelling test
## rrcov::T2.test(x, mu = ..., method = "mcd") (Willems, Pison, Rousseeuw and
## Van Aelst 2002, "A robust Hotelling test", Metrika 55:125-138).
##
## Run from the repository root:   Rscript tests/reference/t2_robust.R
## Output: tests/reference/data/t2_robust.json
##
## What rrcov 1.7-2 does (T2.test.default, method = "mcd"):
##   mcd <- CovMcd(x, trace = FALSE, alpha = 0.75)     # FastMCD, nsamp = 500: RANDOM
##   xbar <- getCenter(mcd); V <- getCov(mcd)           # the REWEIGHTED MCD
##   T2 <- n * (xbar - mu)' V^-1 (xbar - mu)
##   (d, q) <- .getApprox(p, n)                         # Willems et al. (2002)
##   F <- T2 / d;  p.value <- 1 - pf(F, p, q);  parameter = c(df1 = p, df2 = q)
## Every call is preceded by set.seed(SEED); the MCD it used is stored, so a
## re-implementation can be checked "given the same MCD".  The internals of
## .getApprox are captured by a copy whose source is changed only by an
## inserted assignment, checked against the original.

script_dir <- local({                   # this folder, wherever R is started
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(normalizePath(f)) else if (dir.exists("tests/reference")) "tests/reference" else "."
})
source(file.path(script_dir, "_fixtures.R"))

SEED <- 1L

## --- instrumented .getApprox ----------------------------------------------
line <- "q <- (varx/ex^2 * p/2 - 1)^(-1) * (p + 2) + 4"
getApprox_cap <- mk(patch_line(src_of(".getApprox"), line, paste0(
  line, "; for (v in c('limvarx', 'limex', 'vy', 'ey', 'varx', 'ex', 'q')) ",
  "assign(paste0(v, ''), get(v), envir = .GlobalEnv$.cap)")), rr)
kappa_s <- get(".kappa.s", rr)

approx_record <- function(p, n) {
  cap_reset()
  a <- getApprox_cap(p, n)
  b <- get(".getApprox", rr)(p, n)
  stopifnot(identical(a, b))
  q_raw <- .cap$q                        # before the clamp
  list(p = p, n = n, d = a$d, q = a$q,
       q_unclamped = q_raw, clamped = !identical(q_raw, a$q),
       kappa = kappa_s(0.75, p),
       limvarx = .cap$limvarx, limex = .cap$limex,
       vy = uv(.cap$vy), ey = uv(.cap$ey),
       varx = .cap$varx, ex = .cap$ex)
}

## --- one test ----------------------------------------------------------------
t2_record <- function(name, source, X, mu, mu_rule) {
  n <- nrow(X); p <- ncol(X)
  set.seed(SEED)
  tt <- T2.test(X, mu = mu, method = "mcd")
  set.seed(SEED)
  mcd <- CovMcd(X, trace = FALSE, alpha = 0.75)
  xbar <- getCenter(mcd); V <- getCov(mcd)
  stopifnot(identical(unname(as.vector(tt$estimate)), unname(xbar)))
  ap <- approx_record(p, n)
  dx <- xbar - mu
  T2 <- n * crossprod(dx, solve(V, dx))[1, ]
  stopifnot(identical(unname(tt$statistic[["T2"]]), unname(T2)),
            identical(unname(tt$statistic[["F"]]), unname(T2 / ap$d)),
            identical(unname(tt$parameter[["df2"]]), ap$q))
  list(
    name = name, source = source, n = n, p = p, columns = I(colnames(X)),
    X = um(X), mu = uv(mu), mu_rule = mu_rule, seed = SEED,
    T2 = unname(tt$statistic[["T2"]]), F = unname(tt$statistic[["F"]]),
    df1 = unname(tt$parameter[["df1"]]), df2 = unname(tt$parameter[["df2"]]),
    p.value = tt$p.value,
    p.value_upper_tail = pf(tt$statistic[["F"]], p, ap$q, lower.tail = FALSE),
    method = tt$method,
    approx = ap,
    mcd = list(
      call = "CovMcd(x, trace = FALSE, alpha = 0.75) (FastMCD: nsamp = 500, nmini = 300, kmini = 5)",
      alpha = mcd@alpha, quan = mcd@quan,
      center = uv(mcd@center), cov = um(mcd@cov),
      raw.center = uv(mcd@raw.center), raw.cov = um(mcd@raw.cov),
      crit = mcd@crit, best = I(as.integer(sort(mcd@best))),
      raw.cnp2 = uv(mcd@raw.cnp2), cnp2 = uv(mcd@cnp2),
      raw.wt = uv(mcd@raw.wt), sum_raw_wt = sum(mcd@raw.wt)))
}

data(hbk, wood, starsCYG, bushfire, milk, delivery, pulpfiber, Animals2, package = "robustbase", envir = environment())
data(stackloss, package = "datasets", envir = environment())
sets <- list(
  hbk_x        = list(X = dm(hbk[, 1:3]),       source = "robustbase::hbk, columns X1..X3"),
  stackloss    = list(X = dm(stackloss),        source = "datasets::stackloss, all 4 columns"),
  starsCYG     = list(X = dm(starsCYG),         source = "robustbase::starsCYG"),
  wood_x       = list(X = dm(wood[, 1:5]),      source = "robustbase::wood, columns x1..x5"),
  bushfire     = list(X = dm(bushfire),         source = "robustbase::bushfire"),
  milk         = list(X = dm(milk),             source = "robustbase::milk"),
  delivery_x   = list(X = dm(delivery[, 1:2]),  source = "robustbase::delivery, columns n.prod, distance"),
  pulpfiber_x  = list(X = dm(pulpfiber[, 1:4]), source = "robustbase::pulpfiber, columns X1..X4"),
  Animals2_log = list(X = dm(log(Animals2)),    source = "log(robustbase::Animals2)"),
  stack.loss   = list(X = dm(data.frame(stack.loss = stackloss$stack.loss)),
                      source = "datasets::stackloss$stack.loss (p = 1)")
)

tests <- list()
for (nm in names(sets)) {
  X <- sets[[nm]]$X
  med <- apply(X, 2, median); md <- apply(X, 2, mad)
  tests[[length(tests) + 1]] <- t2_record(nm, sets[[nm]]$source, X, med, "column medians")
  tests[[length(tests) + 1]] <- t2_record(nm, sets[[nm]]$source, X, med + 0.5 * md,
                                          "column medians + 0.5 * column mad")
}

grid <- list()
for (p in c(1:10, 15, 20)) for (n in c(10, 20, 30, 50, 100, 500, 1000)) if (n > p)
  grid[[length(grid) + 1]] <- approx_record(p, n)

write_fixture(list(
  `_meta` = c(meta("t2_robust.R"), list(
    RNGkind = I(RNGkind()), seed = SEED,
    getApprox_source = paste(deparse(get(".getApprox", rr)), collapse = "\n"),
    kappa.s_source = paste(deparse(kappa_s), collapse = "\n"))),
  one_sample_mcd = tests,
  getApprox_grid = grid), "t2_robust.json")
