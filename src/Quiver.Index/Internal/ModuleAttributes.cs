using System.Runtime.CompilerServices;

// Search and build keep span and heap locals in hot loops; zeroing them in every prolog is wasted work.
[module: SkipLocalsInit]
