# Italian, written for escalate (no lexicon with a clear licence was found in the
# registries); valences on VADER's -4..4 scale. Same licence as escalate.
-3.4	odio odi odia odiamo schifo schifoso schifosa disgustoso disgustosa
-3.1	orribile orribili pessimo pessima pessimi pessime terribile terribili spaventoso disastro disastroso disastrosa
-3	truffa truffe truffato truffata truffatori ladri furto vergogna vergognoso vergognosa spazzatura
-2.8	inutile inutili incompetente incompetenti furioso furiosa stufo stufa stufi arrabbiatissimo indignato indignata
-2.6	arrabbiato arrabbiata arrabbiati arrabbiate seccato seccata infastidito infastidita ridicolo ridicola ridicoli
-2.4	cattivo cattiva male brutto brutta deluso delusa delusi delusione deludente frustrato frustrata frustrante fregato fregata
-2.2	rotto rotta rotti rotte guasto guasta difettoso difettosa errore errori reclamo reclami lamentela inaccettabile
-2	problema problemi triste tristi preoccupato preoccupata peggio peggiore lento lenta lenti ritardo ritardi
-1.8	perso persa persi perse danno danneggiato danneggiata ingiusto ingiusta impossibile caro cara costoso
-1.5	purtroppo difficile difficili complicato complicata confuso confusa stanco stanca aspetto aspettando
-1.2	dubbio dubbi strano strana
1.3	bene buono buona buoni buone ok giusto chiaro utile utili
1.5	aiuto aiutato aiutata veloce rapido facile semplice gentile gentili cortese piacevole
1.9	grazie ringrazio contento contenta soddisfatto soddisfatta risolto risolta felice
2.3	ottimo ottima perfetto perfetta fantastico fantastica meraviglioso meravigliosa benissimo splendido
2.8	eccellente eccezionale incredibile stupendo stupenda adoro
3.1	amo
