# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# bash completion for profiling-bpf (installed by `make install`). Plain bash:
# it does not need the bash-completion package's helpers.

_profiling_bpf()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local cmd=record i w

	COMPREPLY=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w == -- ]]; then
			# the command to profile, then its own arguments (files)
			if ((COMP_CWORD == i + 1)); then
				COMPREPLY=($(compgen -c -- "$cur"))
			else
				COMPREPLY=($(compgen -f -- "$cur"))
			fi
			return
		fi
		case $w in
		record | report | list) cmd=$w; break ;;
		-*) ;;
		*) break ;;
		esac
	done

	case $prev in
	-p | --pid)
		COMPREPLY=($(compgen -W "$(ps -eo pid= 2>/dev/null)" -- "$cur"))
		return ;;
	-o | --output)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	-f | --format)
		COMPREPLY=($(compgen -W "folded pprof svg json pstats chrome" -- "$cur"))
		return ;;
	--sort)
		COMPREPLY=($(compgen -W "self total calls" -- "$cur"))
		return ;;
	--call-graph)
		COMPREPLY=($(compgen -W "dwarf fp" -- "$cur"))
		return ;;
	--mode)
		COMPREPLY=($(compgen -W "cpu off wall" -- "$cur"))
		return ;;
	-F | --freq | -d | --duration | --top | -u | --uprobe | --max-decompressed | --stack-size | --min-block)
		return ;;
	esac

	local global="-q --quiet -v --verbose -h --help -V --version"
	if [[ $cur != -* ]]; then
		if [[ $cmd == record ]] && ((COMP_CWORD == 1)); then
			COMPREPLY=($(compgen -W "record report list" -- "$cur"))
		elif [[ $cmd != record ]]; then
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		return
	fi
	case $cmd in
	report)
		COMPREPLY=($(compgen -W "$global -o --output -f --format --top --max-decompressed" -- "$cur")) ;;
	list)
		COMPREPLY=($(compgen -W "$global -p --pid" -- "$cur")) ;;
	*)
		COMPREPLY=($(compgen -W "$global -p --pid -a --all-cpus -F --freq -d --duration
			-o --output -f --format --no-kernel --no-user --per-thread --call-graph
			--stack-size --mode --min-block --top -u --uprobe
			--regions --no-sample --trace --sort --" -- "$cur")) ;;
	esac
}
complete -o filenames -F _profiling_bpf profiling-bpf
