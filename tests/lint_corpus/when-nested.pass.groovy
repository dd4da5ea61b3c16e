pipeline {
    agent any
    stages {
        stage('build') {
            when {
                not {
                    anyOf {
                        branch 'a'
                        branch 'b'
                    }
                }
            }
            steps { echo 'x' }
        }
    }
}
