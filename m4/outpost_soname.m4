# OUTPOST_SONAME(MACRO, LIBS, FUNCTION, PREFIX)
# -------------------------------------------
# Link a program that calls FUNCTION with LIBS, read from it the shared
# library it needs whose name starts with PREFIX (libgnutls.so.30, say) and
# define MACRO to that name in config.h: outpost loads the library with
# dlopen under exactly that name (src/libload.h), so that it gets the ABI
# it was built against.
AC_DEFUN([OUTPOST_SONAME],
[AC_CHECK_TOOL([READELF], [readelf], [no])
AS_IF([test "x$READELF" = xno],
  [AC_MSG_ERROR([readelf (binutils) is needed to find the libraries' names])])
AC_CACHE_CHECK([the shared library $3 is in], [outpost_cv_soname_$1],
  [outpost_save_LIBS=$LIBS
   LIBS="$2 $LIBS"
   outpost_cv_soname_$1=no
   AC_LINK_IFELSE([AC_LANG_CALL([], [$3])],
     [outpost_cv_soname_$1=`$READELF -d conftest$EXEEXT 2>/dev/null |
        $SED -n 's/.*(NEEDED).*\@<:@\($4@<:@^@:>@@:>@*\)\@:>@.*/\1/p' | $SED 1q`
      test -n "$outpost_cv_soname_$1" || outpost_cv_soname_$1=no])
   LIBS=$outpost_save_LIBS])
AS_IF([test "x$outpost_cv_soname_$1" = xno],
  [AC_MSG_ERROR([cannot tell which shared library $3 is in (LIBS: $2)])])
AC_DEFINE_UNQUOTED([$1], ["$outpost_cv_soname_$1"],
  [The shared library $3 is loaded from at run time.])
])
